"""The catalog: names, revisions, measured parameter counts, and that every zoo:// name a config uses exists."""
import glob
import os
import re

import pytest
import torch

from internvl_mm import zoo
from internvl_mm.models import InternViT
from internvl_mm.models.backbones.intern_vit import resolve_arch
from tests.helpers import ROOT


def test_names_are_the_lowercase_repository_names_and_lookups_forgive_spelling():
    for model in zoo.list_models():
        assert model.name == model.repo_id.split('/')[1].lower() and model.repo_id.startswith('OpenGVLab/')
        for spelling in (model.name, f'zoo://{model.name}', model.repo_id, model.name.upper()):
            assert zoo.get_model(spelling) is model


def test_an_unknown_name_lists_close_names():
    with pytest.raises(zoo.ZooError, match=r"unknown model zoo name 'internvit-300m'; did you mean "
                                           r"'internvit-300m-448px'.*tools/download.py list"):
        zoo.get_model('internvit-300m')
    with pytest.raises(zoo.ZooError, match=r"unknown model zoo name 'zoo://resnet50'; `python tools/download.py "
                                           r"list` shows all"):
        zoo.get_model('zoo://resnet50')


def test_revisions_are_full_commits_or_explicitly_main():
    for model in zoo.list_models():
        assert model.pinned or model.revision == 'main', model
    assert {m.name for m in zoo.list_models() if m.pinned} == {'internvit-6b-448px-v1-5', 'internvit-6b-448px-v2_5'}


def test_arch_and_parameter_counts_are_measured_from_the_backbone():
    for model in zoo.list_models():
        if model.name != 'internvl-14b-224px':  # its vision tower has no alias of its own
            assert resolve_arch(model.name) == resolve_arch(model.arch), model.name
        with torch.device('meta'):
            backbone = InternViT(model.arch)
        assert sum(p.numel() for p in backbone.parameters()) == model.params, model.name


def test_every_zoo_uri_in_the_configs_names_a_release():
    uris = set()
    for path in glob.glob(os.path.join(ROOT, '**', '*.py'), recursive=True):
        if f'{os.sep}.venv{os.sep}' in path or f'{os.sep}tests{os.sep}' in path:
            continue
        with open(path) as f:
            uris.update(re.findall(r"zoo://[\w.-]+", f.read()))
    uris.discard('zoo://NAME')
    assert {'zoo://internvit-6b-224px', 'zoo://internvit-300m-448px'} <= uris
    for uri in uris:
        zoo.get_model(uri)

"""model-index.yml and the metafiles: read by the OpenMMLab tools that consume them (the model-index package and
mim), consistent with the zoo catalog, with measured parameter counts."""
import glob
import os
import shutil

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from modelindex import load

from internvl_mm import zoo
from internvl_mm.registry import MODELS
from tests.helpers import ROOT

OURS = ('backbones', 'classification')  # the metafiles whose measured parameters these tests re-measure


def metafile(folder):
    with open(os.path.join(ROOT, 'configs', folder, 'metafile.yml')) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}


def test_model_index_loads_without_errors_and_imports_every_metafile():
    index = load(os.path.join(ROOT, 'model-index.yml'))
    assert index.check(silent=True) == []
    names = [m.name for m in index.models]
    assert len(names) == len(set(names))
    metafiles = glob.glob(os.path.join(ROOT, 'configs', '*', 'metafile.yml'))
    assert {os.path.basename(os.path.dirname(p)) for p in metafiles} >= set(OURS)
    for path in metafiles:
        with open(path) as f:
            assert {m['Name'] for m in yaml.safe_load(f)['Models']} <= set(names), path
    for model in index.models:
        assert model.config is None or os.path.isfile(os.path.join(ROOT, model.config)), model.name


def test_mim_search_reads_the_index_of_an_installed_package(tmp_path, monkeypatch):
    """mim looks for <package>/.mim/model-index.yml (where an OpenMMLab setup.py puts the index and configs)."""
    import mim.commands.search as search
    package = tmp_path / 'internvl_mm'
    (package / '.mim').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'model-index.yml'), package / '.mim' / 'model-index.yml')
    shutil.copytree(os.path.join(ROOT, 'configs'), package / '.mim' / 'configs')
    monkeypatch.setattr(search, 'is_installed', lambda name: name == 'internvl_mm')
    monkeypatch.setattr(search, 'get_installed_path', lambda name: str(package))
    table = search.get_model_info('internvl_mm', models=['internvit'], to_dict=True)
    assert set(table) == set(zoo.ZOO) - {'internvl-14b-224px'}
    assert table['internvit-6b-448px-v1-5']['weight'] == zoo.get_model('internvit-6b-448px-v1-5').weights_url
    probes = search.get_model_info('internvl_mm', training_datasets=['imagenet-1k'], to_dict=True)
    assert probes['linear-probe_internvit-6b-224px_8xb128_in1k']['imagenet-1k/top_1_accuracy'] == 88.2


def test_the_backbone_metafile_is_the_catalog():
    entries = metafile('backbones')
    assert list(entries) == list(zoo.ZOO)
    for name, entry in entries.items():
        model = zoo.get_model(name)
        assert entry['Weights'] == model.weights_url  # a file URL at the pinned revision (mim download's)
        assert entry['Weights'].startswith(f'https://huggingface.co/{model.repo_id}/resolve/{model.revision}/')
        cfg = Config.fromfile(os.path.join(ROOT, entry['Config']), import_custom_modules=False)
        assert cfg.model.backbone.init_cfg.checkpoint == f'zoo://{name}'
        assert cfg.model.backbone.arch == model.arch
        assert entry['Metadata']['Parameters'] == model.params
        assert 'FLOPs' in entry['Metadata']  # null until tools/analysis/get_flops.py measures it


@pytest.mark.parametrize('name, entry', metafile('classification').items(), ids=list(metafile('classification')))
def test_classification_parameters_are_measured_from_the_config(name, entry):
    cfg = Config.fromfile(os.path.join(ROOT, entry['Config']))
    assert os.path.splitext(os.path.basename(entry['Config']))[0] == name
    zoo.get_model(entry['Metadata']['Backbone Weights'])
    assert cfg.model.backbone.init_cfg.checkpoint == entry['Metadata']['Backbone Weights']
    init_default_scope(cfg.default_scope)
    try:
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
    finally:
        DefaultScope._instance_dict.clear()
    assert sum(p.numel() for p in model.parameters()) == entry['Metadata']['Parameters']

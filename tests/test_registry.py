"""type='InternViT' resolves in the scopes of every OpenMMLab toolbox through the root registries, and so do the
toolbox heads once their task's integration is imported."""
import pytest
from mmengine.registry import DefaultScope

from internvl_mm.models import InternViT


@pytest.mark.parametrize('scope,registry', [('mmpretrain', 'mmpretrain.registry'), ('mmseg', 'mmseg.registry'),
                                            ('mmdet', 'mmdet.registry')])
def test_backbone_builds_in_each_toolbox(scope, registry):
    import importlib
    models = importlib.import_module(registry).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        backbone = models.build(dict(type='InternViT', arch='tiny'))
    assert isinstance(backbone, InternViT)


@pytest.mark.parametrize('scope,registry,cfg', [
    ('mmpretrain', 'mmpretrain.registry', dict(type='ProbeClsHead', num_classes=4, in_channels=8)),
    ('mmseg', 'mmseg.registry', dict(type='LinearProbeSegHead', in_channels=8, num_classes=4, in_index=-1)),
])
def test_toolbox_heads_build_in_their_toolbox_after_its_integration(scope, registry, cfg):
    """The heads built on a toolbox's classes are registered by internvl_mm.integrations.<task> (tests import all)."""
    import importlib
    models = importlib.import_module(registry).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        head = models.build(cfg)
    assert type(head).__module__.startswith('internvl_mm.models.heads.')

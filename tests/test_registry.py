"""type='InternViT' resolves in the scopes of every OpenMMLab toolbox through the root registries."""
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

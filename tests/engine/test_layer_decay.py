"""Layer-wise LR decay for models that contain an InternViT, in any toolbox."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from internvl_mm.models import InternViT


class Classifier(nn.Module):

    def __init__(self, **backbone_kwargs):
        super().__init__()
        self.backbone = InternViT('tiny', **backbone_kwargs)
        self.head = nn.Sequential(nn.BatchNorm1d(64), nn.Linear(64, 3))


def _groups(model, rate=0.5, **paramwise):
    wrapper = build_optim_wrapper(model, dict(
        constructor='LayerDecayOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1),
        paramwise_cfg=dict(layer_decay_rate=rate, **paramwise)))
    return {name: (g['lr'], g['weight_decay']) for g in wrapper.optimizer.param_groups
            for name in g['param_names']}


def test_lr_follows_depth_and_no_decay_rules():
    lrs = _groups(Classifier())  # tiny: 4 blocks -> 6 depth buckets
    assert lrs['backbone.pos_embed'] == (0.5**5, 0.0)
    assert lrs['backbone.patch_embed.proj.weight'] == (0.5**5, 0.1)
    assert lrs['backbone.blocks.0.attn.qkv.weight'] == (0.5**4, 0.1)
    assert lrs['backbone.blocks.3.mlp.fc1.weight'] == (0.5**1, 0.1)
    assert lrs['backbone.blocks.3.mlp.fc1.bias'] == (0.5**1, 0.0)
    assert lrs['backbone.blocks.3.ls2.gamma'] == (0.5**1, 0.0)
    assert lrs['head.1.weight'] == (1.0, 0.1) and lrs['head.0.weight'] == (1.0, 0.0)


def test_frozen_parameters_are_left_out():
    lrs = _groups(Classifier(frozen_stages=2))
    assert 'backbone.blocks.1.attn.qkv.weight' not in lrs and 'backbone.cls_token' not in lrs
    assert 'backbone.blocks.2.attn.qkv.weight' in lrs


def test_groups_are_shared_and_custom_keys_multiply():
    model = Classifier()
    wrapper = build_optim_wrapper(model, dict(
        constructor='LayerDecayOptimWrapperConstructor', optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1),
        paramwise_cfg=dict(layer_decay_rate=0.5, custom_keys={'head': dict(lr_mult=0.1, decay_mult=0.0)})))
    groups = wrapper.optimizer.param_groups
    assert len(groups) <= 2 * 6 + 2  # one group per (depth, decay) pair, not per tensor
    head = [g for g in groups if g['param_names'][0].startswith('head')]
    assert {(g['lr'], g['weight_decay']) for g in head} == {(0.1, 0.0)}


def test_layer_decay_without_internvit_is_an_error():
    with pytest.raises(ValueError, match='contains no InternViT'):
        _groups(nn.Linear(2, 2))


def test_wrapper_segments_and_owner_based_decay():
    from internvl_mm.engine.optimizers.layer_decay import clean_name
    wrapped = '_fsdp_wrapped_module.backbone.blocks.0._fsdp_wrapped_module._checkpoint_wrapped_module.attn.qkv.weight'
    assert clean_name(wrapped) == 'backbone.blocks.0.attn.qkv.weight'
    assert clean_name('module.head.fc.weight') == 'head.fc.weight'
    assert clean_name('backbone.submodule.x') == 'backbone.submodule.x'
    # decay is decided by name and owner, so a flattened (FSDP) view of a matrix still decays
    model = Classifier()
    with torch.no_grad():
        model.backbone.blocks[0].attn.qkv.weight.data = torch.zeros(0)
    assert _groups(model)['backbone.blocks.0.attn.qkv.weight'][1] == 0.1

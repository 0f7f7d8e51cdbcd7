"""The analytic FLOP count of InternViT against fvcore, on real and on meta tensors, and the metafiles' FLOPs."""
import functools
import os

import pytest
import torch
import yaml

from internvl_mm import zoo
from internvl_mm.models import InternViT
from tests.helpers import ROOT, random_internvit
from tools.analysis import get_flops as get_flops_tool
from tools.analysis.lib.flops import (ViTShape, count_model_flops, internvit_macs, internvit_params, matmul_shapes,
                                      tokens_for)

LN_FAMILY = dict(embed_dims=64, num_layers=3, num_heads=2, feedforward_channels=256, img_size=56,
                 norm_type='layer_norm', qk_normalization=False, qkv_bias=True)


def formula(C, F, L, p, hw):
    """The module docstring's formula, written out independently."""
    _, N = tokens_for(p, hw)
    return (N - 1) * 3 * p * p * C + L * N * (4 * C * C + 2 * C * F) + 2 * L * N * N * C


@pytest.mark.parametrize('hw', [(56, 56), (84, 112), (224, 224)])
def test_fvcore_equals_the_formula_for_the_6b_family(hw):
    model = random_internvit('tiny')
    report = count_model_flops(model, torch.randn(2, 3, *hw))
    assert report.total == internvit_macs(model, hw, batch=2)['total'] == 2 * formula(64, 256, 4, 14, hw)


def test_layer_norm_family_is_within_two_percent():
    """fvcore also counts LayerNorm (5 per element); the formula counts matrix products only."""
    model = random_internvit(LN_FAMILY)
    report = count_model_flops(model, torch.randn(1, 3, 56, 56))
    analytic = internvit_macs(model, (56, 56))['total']
    assert analytic == formula(64, 256, 3, 14, (56, 56))
    assert analytic < report.total <= 1.02 * analytic


def test_window_attention_count():
    """Windowed blocks: the cls token attends to all N, each (padded) window's w² queries to its w² keys."""
    model = random_internvit('tiny', window_size=3, global_block_indexes=[1])
    hw = (70, 98)  # 5 x 7 patches -> 2 x 3 windows of 3 x 3
    report = count_model_flops(model, torch.randn(2, 3, *hw))
    groups = internvit_macs(model, hw, batch=2)
    N, C = 36, 64
    assert groups['attn.sdpa'] == 2 * (2 * N * N * C + 3 * 2 * C * (N + 6 * 81))
    assert report.total == groups['total']


def test_meta_counting_equals_real_counting():
    """On the meta device the patch convolution is counted as an equal-MAC matmul; the result is identical."""
    real = random_internvit('tiny', out_indices=(1, 3))
    with torch.device('meta'):
        meta = InternViT('tiny', out_indices=(1, 3))
    a = count_model_flops(real, torch.randn(1, 3, 84, 84))
    b = count_model_flops(meta, torch.empty(1, 3, 84, 84, device='meta'))
    assert a.total == b.total and a.by_module == b.by_module
    assert isinstance(meta.patch_embed.proj, torch.nn.Conv2d)  # restored after counting


def test_rows_group_repeated_blocks_and_add_up():
    report = count_model_flops(random_internvit('tiny'), torch.randn(1, 3, 56, 56))
    rows = {r.name: r for r in report.rows}
    assert rows['blocks.*.attn.qkv'].count == 4 and rows['blocks.*.attn.qkv'].params == 4 * 64 * 192
    assert rows['blocks.*.attn'].macs == internvit_macs(ViTShape.from_arch('tiny'), (56, 56))['attn.sdpa']
    assert sum(r.macs for r in report.rows) == report.total
    assert sum(r.params for r in report.rows) == report.params


def test_only_blocks_that_run_are_counted():
    model = random_internvit('tiny', out_indices=1)
    assert ViTShape.from_model(model).num_layers == 2
    assert count_model_flops(model, torch.randn(1, 3, 56, 56)).total == formula(64, 256, 2, 14, (56, 56))


@pytest.mark.parametrize('arch', ['6b-224', '6b-448', '300m', 'tiny'])
def test_parameter_formula(arch):
    with torch.device('meta'):
        model = InternViT(arch)
    assert internvit_params(ViTShape.from_model(model), model.grid) == sum(p.numel() for p in model.parameters())


def test_full_6b_on_meta():
    """InternViT-6B at 224 px: 1.54 TMACs (the paper quotes ~1.5 TFLOPs-as-MACs for the 224px tower)."""
    with torch.device('meta'):
        model = InternViT('6b-224')
    report = count_model_flops(model, torch.empty(1, 3, 224, 224, device='meta'))
    assert report.total == formula(3200, 12800, 48, 14, (224, 224)) == 1_536_619_622_400
    assert report.params == 5_902_793_600


def test_matmul_shapes_cover_the_count():
    shapes = matmul_shapes(ViTShape.from_arch('tiny'), (56, 56), batch=3)
    assert sum(m.macs for m in shapes) == 3 * formula(64, 256, 4, 14, (56, 56))
    qk = next(m for m in shapes if m.group == 'attn.sdpa')
    assert (qk.batch, qk.m, qk.k, qk.n, qk.count) == (3 * 2, 17, 32, 17, 4)


# -- the metafiles' FLOPs are get_flops' counts ---------------------------------------------------------------------
def _metafile(folder):
    with open(os.path.join(ROOT, 'configs', folder, 'metafile.yml')) as f:
        return yaml.safe_load(f)['Models']


@functools.lru_cache(maxsize=None)
def _backbone_flops(arch, size):
    with torch.device('meta'):
        model = InternViT(arch)
    return count_model_flops(model, torch.empty(1, 3, size, size, device='meta')).total


@pytest.mark.parametrize('entry', _metafile('backbones'), ids=lambda e: e['Name'])
def test_backbone_metafile_flops(entry):
    arch = zoo.get_model(entry['Name']).arch
    assert entry['Metadata']['FLOPs'] == _backbone_flops(arch, entry['Metadata']['Input Size'])


@pytest.mark.parametrize('entry', _metafile('classification'), ids=lambda e: e['Name'])
def test_classification_metafile_flops(entry):
    _, _, hw, how, report, _ = get_flops_tool.count(os.path.join(ROOT, entry['Config']), {}, None)
    assert how == "model(inputs, mode='tensor') on the meta device"
    assert entry['Metadata']['FLOPs'] == report.total
    assert entry['Metadata']['Parameters'] == report.params

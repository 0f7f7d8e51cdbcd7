"""InternViT: presets, options, exactness against independent implementations, windows, freezing, checkpointing."""
import pytest
import timm
import torch

from tools.analysis.lib.reference import transformers_reference
from internvl_mm.models import InternViT
from internvl_mm.models.backbones.intern_vit import (ARCH_ZOO, resize_pos_embed, window_partition,
                                                     window_unpartition)

from tests.helpers import random_internvit, rel_err

SMALL_6B_FAMILY = dict(embed_dims=64, num_layers=3, num_heads=2, feedforward_channels=256, img_size=56)
SMALL_300M_FAMILY = dict(SMALL_6B_FAMILY, norm_type='layer_norm', qk_normalization=False, qkv_bias=True)


@pytest.mark.parametrize('arch,params_m', [('6b-224', 5902.8), ('6b-448', 5536.5), ('300m', 304.0)])
def test_preset_sizes(arch, params_m):
    with torch.device('meta'):
        model = InternViT(arch)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m, abs=0.1)


def test_6b_preset_details():
    spec = ARCH_ZOO['6b-224']
    assert (spec['embed_dims'], spec['num_layers'], spec['num_heads'], spec['feedforward_channels']) == \
        (3200, 48, 25, 12800)
    assert ARCH_ZOO['6b-448']['num_layers'] == 45
    with torch.device('meta'):
        model = InternViT('InternViT-6B-448px-V1-5')
    block = model.blocks[0]
    assert block.attn.qkv.bias is None and block.attn.q_norm.weight.shape == (3200, )
    assert block.attn.proj.bias is not None and block.mlp.fc1.bias is not None
    assert model.pos_embed.shape == (1, 1 + 32 * 32, 3200)
    assert not any('norm' in n for n, _ in model.named_children())  # no final norm


def test_bad_arch_errors():
    with pytest.raises(ValueError, match=r"Unknown InternViT arch '7b'.*6b-224"):
        InternViT('7b')
    with pytest.raises(ValueError, match=r"missing keys \['num_heads'\].*unknown keys \['depth'\]"):
        InternViT(dict(embed_dims=64, num_layers=2, feedforward_channels=4, depth=3))
    with pytest.raises(ValueError, match='out_indices'):
        InternViT('tiny', out_indices=4)
    with pytest.raises(ValueError, match='out_type'):
        InternViT('tiny', out_type='tokens')


def test_output_types_and_indices():
    x = torch.randn(2, 3, 56, 70)  # non-square: 4 x 5 patches
    expected = {'raw': (2, 21, 64), 'cls_token': (2, 64), 'featmap': (2, 64, 4, 5), 'avg_featmap': (2, 64),
                'cls_patch_concat': (2, 128)}
    model = random_internvit('tiny', out_indices=(-1, 1))
    model.out_type = 'raw'
    raw = model(x)
    for out_type, shape in expected.items():
        model.out_type = out_type
        outs = model(x)
        assert len(outs) == 2 and all(o.shape == shape for o in outs), out_type
    model.out_type = 'cls_patch_concat'
    feat = model(x)[1]
    assert torch.allclose(feat, torch.cat([raw[1][:, 0], raw[1][:, 1:].mean(1)], -1))


@pytest.mark.parametrize('arch', [SMALL_6B_FAMILY, SMALL_300M_FAMILY], ids=['6b-family', '300m-family'])
@pytest.mark.parametrize('size', [(56, 56), (84, 84), (70, 98)])
def test_matches_transformers_internvl_vision(arch, size):
    """Same weights, same outputs as transformers' InternVLVisionModel (eager attention) to <= 1e-5 relative."""
    model = random_internvit(arch)
    ref = transformers_reference(model, 'eager').eval()
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        ours = model(x)[0]
        theirs = ref(pixel_values=x).last_hidden_state
    assert ours.shape == theirs.shape
    assert rel_err(ours, theirs) <= 1e-5


def test_one_block_at_the_real_6b_width_matches_transformers():
    """The 6B block itself (width 3200, 25 heads of 128, MLP 12800, full-width QK RMSNorm), not a scaled copy."""
    model = random_internvit(dict(InternViT.arch_zoo['6b-224'], num_layers=1, img_size=56))
    ref = transformers_reference(model, 'eager').eval()
    x = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        assert rel_err(model(x)[0], ref(pixel_values=x).last_hidden_state) <= 1e-5


def test_300m_family_matches_timm():
    """The 300M layout equals timm's vit_intern300m_patch14_448 architecture (no final norm, LayerScale).

    Only at the native size: timm resamples position embeddings with antialiasing, the official code does not.
    """
    model = random_internvit(SMALL_300M_FAMILY)
    ref = timm.models.vision_transformer.VisionTransformer(
        img_size=56, patch_size=14, embed_dim=64, depth=3, num_heads=2, mlp_ratio=4, qkv_bias=True,
        init_values=0.1, final_norm=False, dynamic_img_size=True, num_classes=0, global_pool='').eval()
    ref.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        assert rel_err(model(x)[0], ref.forward_features(x)) <= 1e-5


def test_pos_embed_cache_follows_parameter_updates():
    model = random_internvit('tiny')
    x = torch.randn(1, 3, 84, 84)
    with torch.no_grad():
        first = model(x)[0]
        cached = model.pos_embed_for((6, 6))
        assert model.pos_embed_for((6, 6)) is cached
        other = model.pos_embed_for((5, 7))  # alternating sizes keep one entry each
        assert model.pos_embed_for((6, 6)) is cached and model.pos_embed_for((5, 7)) is other
        for side in range(8, 8 + model.POS_EMBED_CACHE_SIZES):  # bounded: the oldest sizes go first
            model.pos_embed_for((side, side))
        assert len(model._pos_embed_cache) == model.POS_EMBED_CACHE_SIZES
        model.pos_embed.add_(1.0)  # in-place update bumps the version: the cache must not be reused
        assert model.pos_embed_for((6, 6)) is not cached
        assert not torch.allclose(model(x)[0], first)
    assert torch.equal(resize_pos_embed(model.pos_embed, (4, 4), (4, 4)), model.pos_embed)


def test_pos_embed_gets_gradients_at_other_sizes():
    model = random_internvit('tiny').train()
    model(torch.randn(1, 3, 84, 84))[0].sum().backward()
    assert model.pos_embed.grad is not None and model.pos_embed.grad.abs().sum() > 0


def test_frozen_stages():
    model = random_internvit('tiny', frozen_stages=2).train()
    assert not model.blocks[1].training and model.blocks[2].training
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert 'cls_token' in frozen and 'blocks.1.mlp.fc2.bias' in frozen and 'blocks.2.mlp.fc2.bias' not in frozen
    model(torch.randn(1, 3, 56, 56))[0].sum().backward()
    assert model.blocks[2].attn.qkv.weight.grad is not None

    fully = random_internvit('tiny', frozen_stages='all').train()
    out = fully(torch.randn(1, 3, 56, 56))[0]
    assert not out.requires_grad  # no autograd graph kept for a frozen backbone
    assert all(not p.requires_grad for p in fully.parameters())


@pytest.mark.parametrize('with_cp', [True, 2])
def test_activation_checkpointing_is_exact(with_cp):
    x = torch.randn(2, 3, 56, 56)
    ref = random_internvit('tiny', drop_path_rate=0.0).train()
    ckpt = random_internvit('tiny', with_cp=with_cp).train()
    ckpt.load_state_dict(ref.state_dict())
    runs = [0] * len(ckpt.blocks)
    for i, block in enumerate(ckpt.blocks):
        block.register_forward_pre_hook(lambda *_, i=i: runs.__setitem__(i, runs[i] + 1))
    ref(x)[0].square().sum().backward()
    ckpt(x)[0].square().sum().backward()
    assert ckpt.num_checkpointed == (4 if with_cp is True else 2)
    # a checkpointed block runs again in the backward pass to recompute what it did not keep
    assert runs == ([2, 2, 2, 2] if with_cp is True else [2, 2, 1, 1])
    for (name, a), b in zip(ref.named_parameters(), ckpt.parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-5, atol=1e-7), name


def test_layer_depth_for_lr_decay():
    model = InternViT('tiny')
    assert model.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.blocks.3.attn.qkv.weight', 'backbone.') == (4, 6)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (5, 6)


def test_only_needed_blocks_run():
    model = random_internvit('tiny', out_indices=1)
    calls = []
    for i, block in enumerate(model.blocks):
        block.register_forward_hook(lambda *a, i=i: calls.append(i))
    model(torch.randn(1, 3, 56, 56))
    assert calls == [0, 1]


# -- window attention ----------------------------------------------------------------------------------------------
def test_window_partition_round_trip():
    x = torch.randn(2, 5, 7, 3)
    windows = window_partition(x, 3)
    assert windows.shape == (2 * 2 * 3, 9, 3)
    assert torch.equal(window_unpartition(windows, 3, (5, 7), 2), x.reshape(2, 35, 3))


def _global_attention_per_window(attn, x, grid, ws):
    """Reference: for each window, plain global attention over that window's tokens alone."""
    B, _, C = x.shape
    H, W = grid
    patches = x[:, 1:].reshape(B, H, W, C)
    out = torch.zeros(B, H, W, C)
    global_attn = type(attn)(C, attn.num_heads, attn.qkv.bias is not None, attn.qk_normalization, 1e-6)
    global_attn.load_state_dict(attn.state_dict())
    for r in range(0, H, ws):
        for c in range(0, W, ws):
            win = patches[:, r:r + ws, c:c + ws]
            h, w = win.shape[1:3]
            tokens = win.reshape(B, h * w, C)
            out[:, r:r + h, c:c + w] = global_attn(tokens, (h, w)).reshape(B, h, w, C)
    return out.reshape(B, H * W, C)


@pytest.mark.parametrize('grid', [(6, 6), (5, 7)], ids=['exact', 'padded'])
def test_window_attention_equals_global_attention_inside_windows(grid):
    """Each window's tokens equal global attention over that window alone; in the padded case the edge windows
    are smaller, so equality also proves that padding leaves valid tokens unchanged."""
    model = random_internvit('tiny', window_size=3)
    attn = model.blocks[0].attn
    x = torch.randn(2, 1 + grid[0] * grid[1], 64)
    with torch.no_grad():
        out = attn(x, grid)
        ref = _global_attention_per_window(attn, x, grid, 3)
        q, k, v = attn.qkv(x).view(*x.shape[:2], 3, -1).unbind(2)
        cls_ref = attn.proj(attn._attend(attn.q_norm(q)[:, :1], attn.k_norm(k), v))
    assert rel_err(out[:, 1:], ref) < 1e-5
    assert rel_err(out[:, :1], cls_ref) < 1e-5  # the cls token attends globally


def test_window_and_global_blocks():
    model = random_internvit('tiny', window_size=3, global_block_indexes=[1])
    assert [b.attn.window_size for b in model.blocks] == [3, 0, 3, 3]
    assert [b.attn.window_size for b in InternViT('tiny', window_size=2, window_block_indexes=[0, -1]).blocks] \
        == [2, 0, 0, 2]
    with torch.no_grad():
        out = model(torch.randn(1, 3, 70, 98))[0]
    assert out.shape == (1, 36, 64) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match='not both'):
        InternViT('tiny', window_size=2, window_block_indexes=[0], global_block_indexes=[1])

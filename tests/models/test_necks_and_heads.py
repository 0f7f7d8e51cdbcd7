"""ViTFeaturePyramid (official InternViT neck and ViTDet SimpleFPN), LayerNorm2d, the linear-probe seg head."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from internvl_mm.models.necks import LayerNorm2d, ViTFeaturePyramid
from internvl_mm.registry import MODELS


def test_layer_norm_2d_is_channel_layer_norm():
    norm = LayerNorm2d(8, eps=1e-6)
    torch.nn.init.normal_(norm.weight)
    x = torch.randn(2, 8, 5, 7)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (8, ), norm.weight, norm.bias, 1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(norm(x), ref, atol=1e-6)


def test_official_pyramid_one_tap_per_level():
    neck = ViTFeaturePyramid(in_channels=32, scales=(4, 2, 1, 0.5))
    taps = [torch.randn(2, 32, 6, 6) for _ in range(4)]
    outs = neck(taps)
    assert [tuple(o.shape) for o in outs] == [(2, 32, 24, 24), (2, 32, 12, 12), (2, 32, 6, 6), (2, 32, 3, 3)]
    assert torch.equal(outs[2], taps[2])  # x1 is the identity
    assert torch.equal(outs[3], F.max_pool2d(taps[3], 2))
    assert isinstance(neck.stages[0][1], LayerNorm2d)  # ConvT -> LN -> GELU -> ConvT


def test_simple_fpn_from_one_map_with_extra_level():
    neck = ViTFeaturePyramid(in_channels=64, scales=(4, 2, 1, 0.5), out_channels=16, shrink_channels=True,
                             extra_pool_levels=1)
    outs = neck([torch.randn(1, 64, 8, 8)])
    assert [tuple(o.shape) for o in outs] == [(1, 16, 32, 32), (1, 16, 16, 16), (1, 16, 8, 8), (1, 16, 4, 4),
                                              (1, 16, 2, 2)]
    assert neck.stages[0][3].out_channels == 16 and neck.stages[1].out_channels == 32  # channels halve per 2x


def test_pyramid_input_count_error():
    with pytest.raises(ValueError, match='got 2 maps for 4 levels'):
        ViTFeaturePyramid(in_channels=8)([torch.randn(1, 8, 4, 4)] * 2)
    with pytest.raises(ValueError, match='unsupported pyramid scale 3'):
        ViTFeaturePyramid(in_channels=8, scales=(3, ))


def test_linear_probe_seg_head():
    init_default_scope('mmseg')
    head = MODELS.build(dict(type='LinearProbeSegHead', in_channels=16, num_classes=5, in_index=-1,
                             norm_cfg=dict(type='BN', requires_grad=True)))
    logits = head((torch.randn(2, 16, 6, 6), ))
    assert logits.shape == (2, 5, 6, 6)
    names = {n for n, _ in head.named_children()}
    assert {'conv_seg', 'norm'} <= names and 'convs' not in names  # no convs: BN then the 1x1 classifier


def test_pyramid_levels_are_contiguous_for_mmcv_roi_align():
    """mmcv's CPU RoIAlign reads NCHW memory whatever the strides: the SimpleFPN levels (ending in LayerNorm2d)
    must be contiguous, or every RoI feature of a detector is read from the wrong places."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align
    neck = ViTFeaturePyramid(16, scales=(2, 1), out_channels=8, shrink_channels=True)
    level = neck((torch.randn(2, 16, 8, 8), ))[0]
    assert level.is_contiguous()
    rois = torch.tensor([[0, 4., 6., 30., 40.], [1, 0., 0., 20., 12.]])
    ours = RoIAlign((7, 7), spatial_scale=0.5, sampling_ratio=0, aligned=True)(level, rois)
    torch.testing.assert_close(ours, roi_align(level, rois, (7, 7), 0.5, 0, aligned=True))

"""A multi-scale pyramid from single-scale ViT feature maps, shared by segmentation and detection.

Two ways of using it (both from the papers' designs, one module):

- official InternViT segmentation neck: one ViT tap per level (blocks 12/24/36/48 of 6B) rescaled by x4 (two
  transposed convs with LayerNorm + GELU between), x2 (one transposed conv), x1 (identity) and x0.5 (max-pool),
  channels unchanged;
- ViTDet SimpleFPN: the last tap alone feeds every level, each transposed conv halves the channels, every level is
  projected to ``out_channels`` (1x1 conv + LN, 3x3 conv + LN), and ``extra_pool_levels`` max-pooled levels go on top
  (P6 for a stride-64 level).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from internvl_mm.registry import MODELS


@MODELS.register_module(name='LN2d')
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map, with statistics in fp32 (``norm_cfg=dict(type='LN2d')``).

    The output is a contiguous NCHW tensor: mmcv's CPU RoIAlign reads its input's memory as NCHW whatever the
    strides, and a channels-last view (what the permutes alone give) made every RoI feature garbage.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1).float(), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.to(x.dtype).permute(0, 3, 1, 2).contiguous()


def rescale_stage(scale: float, dim: int, shrink: bool) -> Tuple[nn.Module, int]:
    """Layers that resample a map by ``scale``, and the channels they output."""
    if scale == 4:
        mid, out = (dim // 2, dim // 4) if shrink else (dim, dim)
        return nn.Sequential(nn.ConvTranspose2d(dim, mid, 2, stride=2), LayerNorm2d(mid, eps=1e-6), nn.GELU(),
                             nn.ConvTranspose2d(mid, out, 2, stride=2)), out
    if scale == 2:
        out = dim // 2 if shrink else dim
        return nn.ConvTranspose2d(dim, out, 2, stride=2), out
    if scale == 1:
        return nn.Identity(), dim
    if scale in (0.5, 0.25):
        k = int(1 / scale)
        return nn.MaxPool2d(kernel_size=k, stride=k), dim
    raise ValueError(f'unsupported pyramid scale {scale}; choose from 4, 2, 1, 0.5, 0.25')


@MODELS.register_module()
class ViTFeaturePyramid(BaseModule):
    """Args:
        in_channels: channels of the ViT maps.
        scales: resampling factor of each level, finest first (4 = stride 4 for a stride-16 ViT).
        out_channels: project every level to this width (SimpleFPN); None keeps the resampled channels.
        shrink_channels: halve channels with each 2x upsampling (SimpleFPN) instead of keeping them (official).
        extra_pool_levels: max-pooled levels (kernel 1, stride 2) appended on top of the last one.
    The forward takes either one map per level or a single map for all levels (a tuple of NCHW tensors).
    """

    def __init__(self, in_channels: int, scales: Sequence[float] = (4, 2, 1, 0.5), out_channels: Optional[int] = None,
                 shrink_channels: bool = False, extra_pool_levels: int = 0, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg or [dict(type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'],
                                                    mode='fan_out', nonlinearity='relu', distribution='normal')])
        self.scales = tuple(scales)
        self.extra_pool_levels = extra_pool_levels
        self.stages = nn.ModuleList()
        self.projections = nn.ModuleList()
        for scale in self.scales:
            stage, channels = rescale_stage(scale, in_channels, shrink_channels)
            self.stages.append(stage)
            if out_channels is not None:
                self.projections.append(nn.Sequential(
                    nn.Conv2d(channels, out_channels, 1, bias=False), LayerNorm2d(out_channels, eps=1e-6),
                    nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                    LayerNorm2d(out_channels, eps=1e-6)))

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        if len(inputs) == 1:
            inputs = list(inputs) * len(self.scales)
        elif len(inputs) != len(self.scales):
            raise ValueError(f'ViTFeaturePyramid got {len(inputs)} maps for {len(self.scales)} levels; give one '
                             f'map per level or a single map (set the backbone out_indices accordingly)')
        outs: List[torch.Tensor] = [stage(x) for stage, x in zip(self.stages, inputs)]
        if self.projections:
            outs = [proj(x) for proj, x in zip(self.projections, outs)]
        for _ in range(self.extra_pool_levels):
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)

"""InternViT: the vision encoder of InternVL (InternViT-6B and InternViT-300M), as an OpenMMLab backbone.

A plain pre-norm ViT with the InternVL specifics: RMSNorm (6B) or LayerNorm (300M), optional QK-normalisation over
the *full* query/key width (not per head), a fused qkv projection without bias (6B), LayerScale on both residual
branches, a cls token, a learned absolute position embedding and no final norm.

The same file holds the pure checkpoint-key mapping (:func:`convert_checkpoint_key`) that reads every official
layout: Hugging Face releases (``embeddings.*``, ``encoder.layers.N.*``), the timm-style ``.pth`` releases and the
chat models (``vision_model.*``). Internally the names follow timm (``blocks.N.attn.qkv``...), so the ``.pth``
layout maps to itself.
"""
import math
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch.autograd.function import once_differentiable
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from internvl_mm.registry import MODELS
from timm.layers import DropPath

from internvl_mm.weights import CheckpointError, open_state_dict
from ..presets import resolve_preset

# ----------------------------------------------------------------------------------------------------------------
# Architecture presets
# ----------------------------------------------------------------------------------------------------------------
_6B = dict(embed_dims=3200, num_heads=25, feedforward_channels=12800, norm_type='rms_norm', qk_normalization=True,
           qkv_bias=False, layer_scale_init_value=0.1, norm_eps=1e-6, patch_size=14)
ARCH_ZOO: Dict[str, dict] = {
    # InternViT-6B-224px (InternVL-C/G vision tower): 48 blocks.
    '6b-224': dict(_6B, num_layers=48, img_size=224),
    # InternViT-6B-448px-V1-2 / V1-5 / V2_5: the last three blocks were dropped, 45 remain.
    '6b-448': dict(_6B, num_layers=45, img_size=448),
    # InternViT-300M-448px (and V2_5): LayerNorm, qkv bias, no QK-norm.
    '300m': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096, norm_type='layer_norm',
                 qk_normalization=False, qkv_bias=True, layer_scale_init_value=0.1, norm_eps=1e-6, img_size=448,
                 patch_size=14),
    # Small presets with the 6B feature set (RMSNorm, QK-norm, no qkv bias) for tests and demos.
    'small': dict(_6B, embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768, img_size=224),
    'tiny': dict(_6B, embed_dims=64, num_layers=4, num_heads=2, feedforward_channels=256, img_size=56),
}
ARCH_ALIASES = {
    '6b': '6b-224', 'internvit-6b-224px': '6b-224', 'internvit-6b-448px-v1-2': '6b-448',
    'internvit-6b-448px-v1-5': '6b-448', 'internvit-6b-448px-v2_5': '6b-448', 'internvit-300m-448px': '300m',
    'internvit-300m-448px-v2_5': '300m',
}
REQUIRED_ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
ARCH_DEFAULTS = dict(norm_type='rms_norm', qk_normalization=True, qkv_bias=False, layer_scale_init_value=0.1,
                     norm_eps=1e-6, img_size=224, patch_size=14)
NORM_TYPES = ('rms_norm', 'layer_norm')


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Return the full architecture dict for a preset name/alias or a custom dict, with clear errors."""
    spec = resolve_preset(arch, ARCH_ZOO, ARCH_ALIASES, REQUIRED_ARCH_KEYS, ARCH_DEFAULTS, 'InternViT')
    if spec['norm_type'] not in NORM_TYPES:
        raise ValueError(f"arch norm_type must be one of {NORM_TYPES}, got {spec['norm_type']!r}")
    if spec['embed_dims'] % spec['num_heads']:
        raise ValueError(f"embed_dims {spec['embed_dims']} is not divisible by num_heads {spec['num_heads']}")
    return spec


# ----------------------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------------------
class _RMSNormFunction(torch.autograd.Function):
    """RMSNorm in two passes over the input, keeping only the input and the per-token scale for backward.

    Off CUDA ``F.rms_norm`` decomposes into pow / mean / rsqrt / mul / mul, and its autograd graph keeps the
    normalised input alive as well: one extra activation of the full width per norm (four per 6B block: norm1,
    norm2, q_norm, k_norm). The statistics are computed in fp32 whatever the input dtype, in the composite's order
    ``(x * rstd) * weight``, so the result equals ``F.rms_norm``'s.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        # ||x|| in one reduction pass without materialising x² (fp32 accumulation for bf16/fp16 inputs).
        rstd = torch.linalg.vector_norm(x, dim=-1, keepdim=True, dtype=torch.float32)
        rstd = rstd.square_().div_(x.shape[-1]).add_(eps).rsqrt_()
        ctx.save_for_backward(x, weight, rstd)
        return torch.mul(x, rstd).mul_(weight).to(x.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        x, weight, rstd = ctx.saved_tensors
        x_hat = torch.mul(x, rstd)  # recomputed: cheaper than keeping it; fp32 like the statistics
        grad_hat = torch.mul(grad.to(x_hat.dtype), weight)
        # d/dx of x * rstd(x): rstd * (g - x_hat * mean(g * x_hat)), with g the gradient w.r.t. x_hat.
        mean_dot = torch.linalg.vecdot(grad_hat, x_hat, dim=-1).unsqueeze(-1).div_(x.shape[-1])
        grad_x = grad_hat.addcmul_(x_hat, mean_dot, value=-1).mul_(rstd).to(x.dtype)
        grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = x_hat.mul_(grad).flatten(0, -2).sum(0).to(weight.dtype)
        return grad_x, grad_w, None


class RMSNorm(nn.Module):
    """Root-mean-square norm with a weight and no bias; fp32 statistics for low-precision inputs.

    On CUDA one fused ``F.rms_norm`` kernel (forward and backward); elsewhere :class:`_RMSNormFunction`, which
    makes fewer passes and keeps less for backward than the decomposed ``F.rms_norm``.
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            return F.rms_norm(x, self.weight.shape, self.weight, self.eps)
        return _RMSNormFunction.apply(x, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f'{self.weight.shape[0]}, eps={self.eps}'


def build_norm(norm_type: str, dim: int, eps: float) -> nn.Module:
    return RMSNorm(dim, eps) if norm_type == 'rms_norm' else nn.LayerNorm(dim, eps=eps)


class LayerScale(nn.Module):
    """Per-channel scale of a residual branch (``gamma``), as in CaiT."""

    def __init__(self, dim: int, init_value: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim, ), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection, optional full-width QK-norm and SDPA kernels.

    With ``window_size > 0`` the patch tokens attend only inside non-overlapping ``window_size``² windows (the grid
    is padded to a multiple and padded keys are masked out, so padding never changes valid tokens), while the cls
    token attends globally: this keeps InternViT's cls token meaningful in ViTDet-style detection backbones.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool, qk_normalization: bool, norm_eps: float,
                 attn_drop: float = 0., window_size: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.qk_normalization = qk_normalization
        if qk_normalization:  # always RMSNorm over the full width, whatever the block norms are
            self.q_norm = RMSNorm(dim, norm_eps)
            self.k_norm = RMSNorm(dim, norm_eps)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.window_size = window_size

    def forward(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        q, k, v = self._project_qkv(x)
        if self.qk_normalization:
            q, k = self.q_norm(q), self.k_norm(k)
        if self.window_size:
            out = torch.cat([self._attend(q[:, :1], k, v), self._window_attend(q, k, v, grid)], dim=1)
        else:
            out = self._attend(q, k, v)
        return self.proj(out)

    def _project_qkv(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v (B, N, C each) from the fused projection.

        Normally one (B*N, C) x (C, 3C) product, with q, k, v as views of its output. CPU inference instead runs
        three products on row slices of the same weight (views, nothing copied): MKL's sgemm runs the 3C-wide
        product ~4 % slower than three C-wide ones at the token counts of 224 px images, and q, k, v come out
        contiguous. With autograd the fused product stays (the slices' weight gradients would have to be
        concatenated: one more weight-sized copy per block), and so it does under tracing, where FLOP counters
        attribute the product to ``qkv``.
        """
        if x.device.type == 'cpu' and not torch.is_grad_enabled() and not torch.jit.is_tracing():
            biases = self.qkv.bias.chunk(3) if self.qkv.bias is not None else (None, ) * 3
            return tuple(F.linear(x, w, b) for w, b in zip(self.qkv.weight.chunk(3), biases))
        B, N, C = x.shape
        return self.qkv(x).view(B, N, 3, C).unbind(2)

    def _attend(self, q, k, v, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, Nq, C), (B, Nk, C) x2 -> (B, Nq, C) through ``scaled_dot_product_attention``."""
        B, Nq, C = q.shape
        q, k, v = (t.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.attn_drop if self.training else 0.)
        return out.transpose(1, 2).reshape(B, Nq, C)

    def _window_attend(self, q, k, v, grid: Tuple[int, int]) -> torch.Tensor:
        """Attention of the patch tokens (all but the first) inside windows; returns (B, H*W, C)."""
        B, _, C = q.shape
        H, W = grid
        ws = self.window_size
        pad_h, pad_w = -H % ws, -W % ws
        windows = [window_partition(t[:, 1:].reshape(B, H, W, C), ws) for t in (q, k, v)]
        mask = None
        if pad_h or pad_w:
            valid = q.new_ones(1, H, W, 1, dtype=torch.bool)
            key_valid = window_partition(valid, ws).squeeze(-1)  # (nW, ws*ws), same for every image
            mask = key_valid[:, None, None, :].repeat(B, 1, 1, 1)  # (B*nW, 1, 1, ws*ws), broadcast over heads/q
        out = self._attend(*windows, mask=mask)
        return window_unpartition(out, ws, (H, W), B)


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * num_windows, window_size², C), zero-padding H and W up to multiples of the window."""
    B, H, W, C = x.shape
    pad_h, pad_w = -H % window_size, -W % window_size
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window_size, window_size, Wp // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size * window_size, C)


def window_unpartition(windows: torch.Tensor, window_size: int, grid: Tuple[int, int], batch: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * num_windows, window_size², C) -> (B, H * W, C) without padding."""
    H, W = grid
    Hp, Wp = H + (-H % window_size), W + (-W % window_size)
    C = windows.shape[-1]
    x = windows.view(batch, Hp // window_size, Wp // window_size, window_size, window_size, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, Hp, Wp, C)
    return x[:, :H, :W].reshape(batch, H * W, C)


class Block(nn.Module):
    """Pre-norm transformer block: x + ls1 * attn(norm1(x)), then x + ls2 * mlp(norm2(x)), with drop path."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, norm_type: str, norm_eps: float, qkv_bias: bool,
                 qk_normalization: bool, layer_scale_init_value: float, drop_path: float = 0.,
                 attn_drop: float = 0., window_size: int = 0):
        super().__init__()
        self.norm1 = build_norm(norm_type, dim, norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias, qk_normalization, norm_eps, attn_drop, window_size)
        self.ls1 = LayerScale(dim, layer_scale_init_value)
        self.norm2 = build_norm(norm_type, dim, norm_eps)
        self.mlp = Mlp(dim, mlp_dim)
        self.ls2 = LayerScale(dim, layer_scale_init_value)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        x = self._residual(x, self.attn(self.norm1(x), grid), self.ls1)
        return self._residual(x, self.mlp(self.norm2(x)), self.ls2)

    def _residual(self, x: torch.Tensor, branch: torch.Tensor, layer_scale: LayerScale) -> torch.Tensor:
        """``x + gamma * branch``: one ``addcmul`` pass (no scaled temporary) unless drop path is active."""
        if self.training and isinstance(self.drop_path, DropPath):
            return x + self.drop_path(layer_scale(branch))
        return torch.addcmul(x, branch, layer_scale.gamma)


class PatchEmbed(nn.Module):
    """Non-overlapping patches through a strided conv: (B, 3, H, W) -> (B, h*w, C) and the grid (h, w)."""

    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


def resize_pos_embed(pos_embed: torch.Tensor, src_grid: Tuple[int, int], dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Bicubically resize the patch part of a (1, 1 + h*w, C) position embedding; the cls position is kept."""
    if tuple(src_grid) == tuple(dst_grid):
        return pos_embed
    cls_pos, patch_pos = pos_embed[:, :1], pos_embed[:, 1:]
    C = pos_embed.shape[-1]
    patch_pos = patch_pos.reshape(1, *src_grid, C).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(patch_pos.float(), size=tuple(dst_grid), mode='bicubic', align_corners=False)
    patch_pos = patch_pos.to(pos_embed.dtype).permute(0, 2, 3, 1).reshape(1, -1, C)
    return torch.cat([cls_pos, patch_pos], dim=1)


def resize_patch_kernel(weight: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Bicubically resize a (C, 3, p, p) patch-embedding kernel to ``patch_size``.

    The result is scaled by the area ratio so that a patch of constant colour gives the same embedding as before
    (a plain resize would scale every token by (new/old)²).
    """
    old = weight.shape[-1]
    if old == patch_size:
        return weight
    resized = F.interpolate(weight.float(), size=(patch_size, patch_size), mode='bicubic', align_corners=False)
    return (resized * (old * old) / (patch_size * patch_size)).to(weight.dtype)


# ----------------------------------------------------------------------------------------------------------------
# Checkpoint key mapping (pure)
# ----------------------------------------------------------------------------------------------------------------
_HF_RENAMES = (
    (re.compile(r'^embeddings\.class_embedding$'), 'cls_token'),
    (re.compile(r'^embeddings\.position_embedding$'), 'pos_embed'),
    (re.compile(r'^embeddings\.patch_embedding\.(weight|bias)$'), r'patch_embed.proj.\1'),
    (re.compile(r'^encoder\.layers\.(\d+)\.(ls[12])$'), r'blocks.\1.\2.gamma'),
    (re.compile(r'^encoder\.layers\.(\d+)\.(.+)$'), r'blocks.\1.\2'),
)
_NATIVE_KEY = re.compile(r'^(cls_token|pos_embed|patch_embed\.proj\.(weight|bias)|blocks\.\d+\..+)$')
_WRAPPER_PREFIXES = ('module.', 'vision_model.')


def convert_checkpoint_key(key: str) -> Optional[str]:
    """Map a key of any official InternViT layout to this module's name, or ``None`` if it is not a ViT key.

    Handles Hugging Face releases (``embeddings.class_embedding``, ``encoder.layers.N.ls1``, ...), timm-style
    ``.pth`` releases (``cls_token``, ``blocks.N.ls1.gamma``, ... map to themselves), and the ``vision_model.``
    (chat / InternVL-C/G) and ``module.`` (DDP) prefixes. Keys such as ``clip_projector.*``, ``mlp1.*`` or
    ``language_model.*`` return ``None``.
    """
    for prefix in _WRAPPER_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    for pattern, replacement in _HF_RENAMES:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return key if _NATIVE_KEY.match(key) else None


def _num_blocks(keys) -> int:
    ids = {int(m.group(1)) for k in keys if (m := re.match(r'blocks\.(\d+)\.', k))}
    return max(ids) + 1 if ids else 0


# ----------------------------------------------------------------------------------------------------------------
# The backbone
# ----------------------------------------------------------------------------------------------------------------
@MODELS.register_module()
class InternViT(BaseModule):
    """InternViT backbone (InternVL, CVPR 2024) for mmpretrain, mmseg, mmdet and pretraining.

    Args:
        arch: a preset of :data:`ARCH_ZOO` ('6b-224', '6b-448', '300m', 'small', 'tiny', or an alias such as
            'InternViT-6B-448px-V1-5') or a dict with ``embed_dims``, ``num_layers``, ``num_heads``,
            ``feedforward_channels`` and optionally ``norm_type``, ``qk_normalization``, ``qkv_bias``,
            ``layer_scale_init_value``, ``norm_eps``, ``img_size``, ``patch_size``.
        img_size: the size the position embedding is stored for (default: the preset's). Any input size runs: the
            embedding is interpolated bicubically to the input grid (cached per size at inference).
        patch_size: patch size (default: the preset's, 14). A checkpoint with another patch size is adapted at load
            time by resizing its kernel.
        out_indices: block indices whose outputs are returned (negative counts from the end).
        out_type: 'raw' (B, 1+h*w, C) tokens, 'cls_token' (B, C), 'featmap' (B, C, h, w) without the cls token,
            'avg_featmap' (B, C) mean of patch tokens, or 'cls_patch_concat' (B, 2C) = [cls, mean of patches],
            the feature of the paper's linear probe.
        drop_path_rate: stochastic depth at the last block, linearly increasing from 0 at the first.
        frozen_stages: -1 trains everything; k freezes the embeddings and the first k blocks (``'all'`` or any
            k >= num_layers freezes the whole backbone). The frozen prefix runs without autograd and in eval mode.
        with_cp: activation checkpointing; True for every block or an int for the first ``with_cp`` blocks.
        window_size / window_block_indexes / global_block_indexes: ViTDet-style window attention for
            high-resolution inputs; blocks get windows of ``window_size`` patches unless listed as global (give one
            of the two lists; with neither, every block is windowed).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_ZOO_NAME, prefix=None)`` loads official weights
            in any layout (see :func:`convert_checkpoint_key`).
    """
    OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap', 'cls_patch_concat')
    POS_EMBED_CACHE_SIZES = 8  # input sizes whose interpolated position embedding is kept at inference
    arch_zoo = ARCH_ZOO

    def __init__(self,
                 arch: Union[str, dict] = '6b-224',
                 img_size: Optional[int] = None,
                 patch_size: Optional[int] = None,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'raw',
                 drop_path_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 frozen_stages: Union[int, str] = -1,
                 with_cp: Union[bool, int] = False,
                 window_size: int = 0,
                 window_block_indexes: Optional[Sequence[int]] = None,
                 global_block_indexes: Optional[Sequence[int]] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        spec = resolve_arch(arch)
        self.arch = spec
        self.embed_dims = spec['embed_dims']
        self.num_layers = spec['num_layers']
        self.img_size = img_size or spec['img_size']
        self.patch_size = patch_size or spec['patch_size']
        if self.img_size % self.patch_size:
            raise ValueError(f'img_size {self.img_size} is not a multiple of patch_size {self.patch_size}')
        self.grid = (self.img_size // self.patch_size, ) * 2

        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, got {out_type!r}')
        self.out_type = out_type
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        bad = [i for i in indices if not -self.num_layers <= i < self.num_layers]
        if bad or not indices:
            raise ValueError(f'out_indices {indices} out of range for {self.num_layers} blocks '
                             f'(valid: {-self.num_layers}..{self.num_layers - 1})')
        self.out_indices = sorted(i % self.num_layers for i in indices)

        self.patch_embed = PatchEmbed(self.patch_size, in_channels, self.embed_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid[0] * self.grid[1], self.embed_dims))
        windowed = self._windowed_blocks(window_size, window_block_indexes, global_block_indexes)
        dpr = [drop_path_rate * i / max(self.num_layers - 1, 1) for i in range(self.num_layers)]  # meta-safe
        self.blocks = nn.ModuleList(
            Block(self.embed_dims, spec['num_heads'], spec['feedforward_channels'], spec['norm_type'],
                  spec['norm_eps'], spec['qkv_bias'], spec['qk_normalization'], spec['layer_scale_init_value'],
                  drop_path=dpr[i], attn_drop=attn_drop_rate, window_size=window_size if i in windowed else 0)
            for i in range(self.num_layers))
        # Only the blocks up to the deepest requested output run.
        self._depth_used = self.out_indices[-1] + 1

        self.frozen_stages = self.num_layers if frozen_stages == 'all' else min(int(frozen_stages),
                                                                                  self.num_layers)
        self.set_grad_checkpointing(with_cp)
        self._pos_embed_cache: Dict[tuple, torch.Tensor] = {}
        self._freeze_stages()

    def _windowed_blocks(self, window_size, window_block_indexes, global_block_indexes) -> set:
        if not window_size:
            if window_block_indexes or global_block_indexes:
                raise ValueError('window_block_indexes/global_block_indexes need window_size > 0')
            return set()
        if window_block_indexes is not None and global_block_indexes is not None:
            raise ValueError('give window_block_indexes or global_block_indexes, not both')
        listed = window_block_indexes if window_block_indexes is not None else global_block_indexes or ()
        bad = [i for i in listed if not -self.num_layers <= i < self.num_layers]
        if bad:
            raise ValueError(f'window/global block indexes {bad} out of range for {self.num_layers} blocks '
                             f'(valid: {-self.num_layers}..{self.num_layers - 1})')
        listed = {i % self.num_layers for i in listed}
        return listed if window_block_indexes is not None else set(range(self.num_layers)) - listed

    # -- configuration -------------------------------------------------------------------------------------------
    def set_grad_checkpointing(self, enable: Union[bool, int] = True):
        """Checkpoint the activations of every block (True), none (False) or the first ``enable`` blocks (int)."""
        if isinstance(enable, bool):
            self.num_checkpointed = self.num_layers if enable else 0
        else:
            self.num_checkpointed = max(0, min(int(enable), self.num_layers))

    @property
    def with_cp(self) -> int:
        return self.num_checkpointed

    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.blocks[:self.frozen_stages]]
        for module in frozen:
            module.eval()
            for p in module.parameters():
                p.requires_grad = False
        self.cls_token.requires_grad = False
        self.pos_embed.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Depth bucket for layer-wise LR decay: embeddings 0, block i -> i + 1, anything else num_layers + 1."""
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers

    # -- weights -------------------------------------------------------------------------------------------------
    def init_weights(self):
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'], prefix=self.init_cfg.get('prefix'))
            self._is_init = True
            return
        super().init_weights()
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @torch.no_grad()
    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None) -> Dict[str, List[str]]:
        """Load official weights from a file, release directory, shard index or ``zoo://`` name.

        ``prefix`` selects a sub-dict first (e.g. ``'backbone.'`` for an mmpretrain classifier checkpoint). The
        position embedding and patch kernel are resized to this model; any other shape mismatch, a missing key
        or a different depth raises :class:`CheckpointError`. Returns ``{'ignored': [...]}`` (non-ViT keys).
        """
        logger = MMLogger.get_current_instance()
        source = open_state_dict(checkpoint)
        mapping: Dict[str, str] = {}
        ignored: List[str] = []
        for key in source:
            if prefix and not key.startswith(prefix):
                ignored.append(key)
                continue
            new_key = convert_checkpoint_key(key[len(prefix):] if prefix else key)
            if new_key is None:
                ignored.append(key)
            else:
                mapping[new_key] = key
        if not mapping:
            raise CheckpointError(f'{checkpoint} holds no InternViT weights (first keys: {list(source)[:5]}). '
                                  f'Pass prefix=... if the backbone sits under a prefix such as "backbone.".')
        ckpt_depth = _num_blocks(mapping)
        if ckpt_depth != self.num_layers:
            raise CheckpointError(
                f'{checkpoint} has {ckpt_depth} blocks but this InternViT has {self.num_layers}; choose the arch '
                f'that matches the release (6B-224px: 48 blocks, 6B-448px V1.2+: 45, 300M: 24).')
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(mapping))
        if missing:
            raise CheckpointError(f'{checkpoint} lacks {len(missing)} InternViT weights, e.g. {missing[:4]}; '
                                  f'is it the right architecture (norm type, qkv bias, QK-norm)?')
        unexpected = sorted(set(mapping) - set(own))
        if unexpected:
            raise CheckpointError(f'{checkpoint} has {len(unexpected)} InternViT weights this model lacks, e.g. '
                                  f'{[mapping[k] for k in unexpected[:4]]}; is it the right architecture (norm '
                                  f'type, qkv bias, QK-norm)?')
        for name, param in own.items():
            tensor = source[mapping[name]]
            if name == 'pos_embed' and tensor.shape != param.shape:
                tensor = self._adapt_pos_embed(tensor, checkpoint)
            elif name == 'patch_embed.proj.weight' and tensor.shape[-2:] != param.shape[-2:]:
                logger.info(f'Resizing the patch kernel {tuple(tensor.shape[-2:])} -> {tuple(param.shape[-2:])}')
                tensor = resize_patch_kernel(tensor, self.patch_size)
            if tensor.shape != param.shape:
                raise CheckpointError(f'{checkpoint}: {mapping[name]} has shape {tuple(tensor.shape)} but '
                                      f'{name} of this InternViT has {tuple(param.shape)}; the checkpoint is for '
                                      f'another architecture (embed_dims/feedforward_channels).')
            param.copy_(tensor.to(param.dtype))
        self._pos_embed_cache.clear()
        groups = sorted({k.split('.')[0] for k in ignored})
        logger.info(f'Loaded {len(own)} InternViT tensors from {checkpoint}'
                    + (f'; ignored {len(ignored)} other keys ({", ".join(groups)})' if ignored else ''))
        return {'ignored': ignored}

    def _adapt_pos_embed(self, pos_embed: torch.Tensor, checkpoint: str) -> torch.Tensor:
        n = pos_embed.shape[1] - 1
        side = math.isqrt(n)
        if side * side != n or pos_embed.shape[-1] != self.embed_dims:
            raise CheckpointError(f'{checkpoint}: position embedding {tuple(pos_embed.shape)} does not fit '
                                  f'{tuple(self.pos_embed.shape)} (expected 1 + a square grid, {self.embed_dims} '
                                  f'channels).')
        MMLogger.get_current_instance().info(
            f'Resizing the position embedding from a {side}x{side} to a {self.grid[0]}x{self.grid[1]} grid')
        return resize_pos_embed(pos_embed, (side, side), self.grid)

    # -- forward -------------------------------------------------------------------------------------------------
    def pos_embed_for(self, grid: Tuple[int, int]) -> torch.Tensor:
        """The position embedding for a patch grid; interpolations are cached when no gradient can flow."""
        if tuple(grid) == self.grid:
            return self.pos_embed
        if torch.is_grad_enabled() and self.pos_embed.requires_grad:
            return resize_pos_embed(self.pos_embed, self.grid, grid)
        weights = (self.pos_embed._version, self.pos_embed.dtype, self.pos_embed.device)
        cached = self._pos_embed_cache.get((tuple(grid), *weights))
        if cached is None:
            with torch.no_grad():
                cached = resize_pos_embed(self.pos_embed, self.grid, grid)
            # keep the sizes made from the current weights (at most POS_EMBED_CACHE_SIZES, oldest dropped first)
            kept = [(k, v) for k, v in self._pos_embed_cache.items() if k[1:] == weights]
            self._pos_embed_cache = dict(kept[-(self.POS_EMBED_CACHE_SIZES - 1):])
            self._pos_embed_cache[(tuple(grid), *weights)] = cached
        return cached

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        frozen_prefix = self.frozen_stages >= 0
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen_prefix):
            x, grid = self.patch_embed(x)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed_for(grid)
        outs = []
        for i, block in enumerate(self.blocks[:self._depth_used]):
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= self.frozen_stages):
                if i < self.num_checkpointed and i >= self.frozen_stages and torch.is_grad_enabled():
                    x = cp.checkpoint(block, x, grid, use_reentrant=False)
                else:
                    x = block(x, grid)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patches = x[:, 1:]
        if self.out_type == 'featmap':
            return patches.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        if self.out_type == 'avg_featmap':
            return patches.mean(dim=1)
        return torch.cat([x[:, 0], patches.mean(dim=1)], dim=-1)

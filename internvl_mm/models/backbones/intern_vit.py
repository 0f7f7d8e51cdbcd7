"""InternViT: the vision encoder of InternVL (InternViT-6B and InternViT-300M), as an OpenMMLab backbone.

A plain pre-norm ViT with the InternVL specifics: RMSNorm (6B) or LayerNorm (300M), optional QK-normalisation over
the *full* query/key width (not per head), a fused qkv projection without bias (6B), LayerScale on both residual
branches, a cls token, a learned absolute position embedding and no final norm.

Internally the names follow timm (``blocks.N.attn.qkv``...). Official checkpoints in every layout are adapted by
:mod:`.intern_vit_checkpoint`, which the model runs as its load-state-dict pre-hook: every way of loading weights
(``init_cfg``, ``load_from``, ``load_state_dict``, the tools) reads the release layouts and resizes the position
embedding and patch kernel.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from timm.layers import DropPath
from torch.autograd.function import once_differentiable

from internvl_mm.errors import CheckpointError, ConfigError
from internvl_mm.registry import MODELS
from internvl_mm.weights import (PendingTensor, PrefixView, load_weights, materialize, open_state_dict,
                                 source_digest)
import internvl_mm.models.adapters as adapters
from ..block_checkpointing import BlockCheckpointing
from ..presets import resolve_preset
from .intern_vit_checkpoint import adapt_state_dict, convert_checkpoint_key, resize_pos_embed, to_release_state_dict

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
        """q, k, v (B, N, C each): views of one (B*N, C) x (C, 3C) product."""
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


# ----------------------------------------------------------------------------------------------------------------
# The backbone
# ----------------------------------------------------------------------------------------------------------------
@MODELS.register_module()
class InternViT(BlockCheckpointing, BaseModule):
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
        adapter: parameter-efficient tuning, ``dict(type='LoRA'|'DoRA', rank=16, alpha=16, dropout=0.,
            targets=('qkv', 'proj', 'fc1', 'fc2'), blocks=None)`` (see :mod:`..adapters`): every base weight is
            frozen and only the adapters train. Checkpoints then hold the adapters and a pointer to the base
            weights of ``init_cfg``, which every load path refills.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_ZOO_NAME, prefix=None)`` loads official weights
            in any layout (see :mod:`.intern_vit_checkpoint`).
    """
    OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap', 'cls_patch_concat')
    POS_EMBED_CACHE_SIZES = 8  # input sizes whose interpolated position embedding is kept at inference
    arch_zoo = ARCH_ZOO
    checkpointable_blocks = (Block, )

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
                 adapter: Optional[dict] = None,
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
        self.adapter = dict(adapter) if adapter else None
        if self.adapter:
            self._inject_adapters()
        self.register_load_state_dict_pre_hook(InternViT._adapt_checkpoint)

    def _inject_adapters(self):
        adapters.inject_adapters(self, self.adapter, self.num_layers)
        frozen = sorted({int(k.split('.')[1]) for k in self.adapter_keys()
                         if int(k.split('.')[1]) < self.frozen_stages})
        if frozen:
            raise ConfigError(f'adapters in blocks {frozen} lie inside frozen_stages={self.frozen_stages}, which run '
                              f'without gradients; put the adapters after the frozen blocks (adapter blocks=...) or '
                              f'lower frozen_stages')

    def adapter_keys(self) -> List[str]:
        """Names of the adapter parameters (empty without ``adapter``)."""
        return [k for k, _ in self.named_parameters() if adapters.is_adapter_key(k)]

    def merge_adapters(self) -> int:
        """Fold the adapters into the base weights (peft's merge); the backbone is a plain InternViT afterwards,
        with the same outputs. Returns the number of layers merged."""
        merged = adapters.merge_adapters(self)
        self.adapter = None
        return merged

    def adapter_base(self) -> Optional[dict]:
        """Where the frozen base weights come from (``init_cfg``'s source and prefix), or None when they were
        not loaded from a checkpoint (an adapter checkpoint must then keep them)."""
        cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        if cfg.get('type') != 'Pretrained' or not cfg.get('checkpoint'):
            return None
        return dict(source=str(cfg['checkpoint']), prefix=cfg.get('prefix') or '')

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
    @property
    def num_features(self) -> int:
        """Channels of each output (timm's name): ``embed_dims``, twice that for ``out_type='cls_patch_concat'``."""
        return self.embed_dims * (2 if self.out_type == 'cls_patch_concat' else 1)

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
        else:
            super().init_weights()
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        if self.adapter:
            adapters.reset_adapters(self)  # LoRA B = 0 again; DoRA magnitudes from the weights now in place

    def _adapt_checkpoint(self, state_dict: dict, prefix: str, *args) -> None:
        """Load-state-dict pre-hook: official layouts and other grid / patch sizes -> this model; with adapters, an
        adapter checkpoint's base weights are refilled from its base pointer and base names get peft's layout."""
        own = {k: v.shape for k, v in self.state_dict(keep_vars=True).items()}
        pointer = state_dict.pop(prefix + adapters.BASE_POINTER_KEY, None)
        if pointer is not None:
            self._refill_base(state_dict, prefix, pointer, own)
        adapt_state_dict(state_dict, prefix, {adapters.base_name(k): v for k, v in own.items()})
        if self.adapter:
            adapters.adapter_layout_keys(state_dict, prefix, own)
        self._pos_embed_cache.clear()

    def _refill_base(self, state_dict: dict, prefix: str, pointer, own: Dict[str, torch.Size]) -> None:
        """Put the base weights an adapter checkpoint points at into ``state_dict`` (lazily when the other entries
        are lazy), after checking the base's SHA-256 against the one recorded at save time."""
        base = adapters.decode_base_pointer(materialize(pointer))
        lazy = isinstance(pointer, PendingTensor)
        try:
            digest = source_digest(base['source'])
        except (CheckpointError, FileNotFoundError) as e:
            raise CheckpointError(f'this adapter checkpoint needs its base weights {base["source"]!r}, which can not '
                                  f'be opened ({e}); make them available there, or load a merged checkpoint '
                                  f'(tools/peft_merge.py)') from e
        if digest != base['sha256']:
            raise CheckpointError(f'the base weights {base["source"]!r} have SHA-256 {digest[:12]}..., but the adapters '
                                  f'were trained on {base["sha256"][:12]}...; adapters only fit the base they were '
                                  f'trained on')
        source = PrefixView(open_state_dict(base['source']), base['prefix'])
        present = {adapters.base_name(k[len(prefix):]) for k in state_dict if k.startswith(prefix)}
        for key in source:
            name = convert_checkpoint_key(key)
            if name is not None and name not in present:
                state_dict[prefix + name] = source.pending(key) if lazy else source[key]

    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None) -> Dict[str, List[str]]:
        """Load official weights from a file, release directory, shard index or ``zoo://`` name.

        ``prefix`` selects a sub-dict first (e.g. ``'backbone.'`` for an mmpretrain classifier checkpoint); keys
        that are not ViT keys (a chat model's LLM, InternVL's text tower) are ignored. The position embedding and
        patch kernel are resized to this model; anything else that does not fit raises :class:`CheckpointError`.
        Returns ``{'ignored': [...]}``.
        """
        source = open_state_dict(checkpoint)
        view = PrefixView(source, prefix or '')
        if not any(convert_checkpoint_key(k) is not None for k in view):
            raise CheckpointError(f'{checkpoint} holds no InternViT weights (first keys: {list(source)[:5]}). '
                                  f'Pass prefix=... if the backbone sits under a prefix such as "backbone.".')
        report = load_weights(self, view, what='InternViT', allow_missing=self.adapter_keys(),
                              ignore_unexpected=lambda k: convert_checkpoint_key(k) is None,
                              hint='is it the right architecture (norm type, qkv bias, QK-norm, embed_dims)?')
        ignored = [k for k in source if not k.startswith(prefix or '')] + [(prefix or '') + k for k in report.ignored]
        groups = sorted({k.split('.')[0] for k in ignored})
        MMLogger.get_current_instance().info(
            f'Loaded {len(report.loaded)} InternViT tensors from {checkpoint}'
            + (f'; ignored {len(ignored)} other keys ({", ".join(groups)})' if ignored else ''))
        return {'ignored': ignored}

    def release_state_dict(self) -> Dict[str, torch.Tensor]:
        """The weights in the Hugging Face release layout (what ``tools/export_release.py`` writes)."""
        if self.adapter_keys():
            raise ConfigError('this InternViT has adapters, which a release does not hold: merge them first '
                              '(InternViT.merge_adapters, or tools/peft_merge.py)')
        return to_release_state_dict(self.state_dict())

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
                x = self.run_block(i, block, x, grid)
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


def find_internvit(model: nn.Module) -> List[Tuple[str, InternViT]]:
    """Every InternViT inside ``model`` (the model itself included), in module order, with its key prefix
    ('' for the model itself, else the module path and a dot)."""
    return [(f'{name}.' if name else '', module) for name, module in model.named_modules()
            if isinstance(module, InternViT)]

"""FLOPs of InternViT: the analytic count, its matrix products, and fvcore's count of any model.

Convention: fvcore's, which OpenMMLab metafiles use - one multiply-accumulate (MAC) counts as one FLOP. Hardware
rates (GFLOP/s, MFU in the benchmark) count 2 FLOPs per MAC and say so.

Analytic count for one H x W image, patch size p, width C, MLP width F, L blocks and N = 1 + (H/p)(W/p) tokens
(the cls token included)::

    patch embedding      (N - 1) * 3p² * C                 a p x p stride-p convolution = one matmul per patch
    per block  qkv       N * C * 3C                         the fused projection
               attention 2 * N² * C                         Q Kᵀ and softmax(.) V over all heads (h * d = C)
               proj      N * C²
               mlp       2 * N * C * F                      fc1 and fc2
    total = (N - 1) 3p² C  +  L N (4C² + 2CF)  +  2 L N² C

A block with ViTDet window attention (window w, the grid padded to multiples of w, n_w windows) replaces 2N²C by
2C (N + n_w w⁴): the cls token still attends to all N tokens, each window's w² queries to its w² keys (padded keys
are computed and masked, so they count). Norms, GELU, softmax, layer scales and residual adds are O(NC) and not
counted; fvcore counts LayerNorm at 5 per element (below 0.1 % for InternViT-300M) and skips the rest.
"""
import math
import re
from collections import Counter, OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from internvl_mm.models.backbones.intern_vit import InternViT, find_internvit, resolve_arch


# ----------------------------------------------------------------------------------------------------------------
# The analytic count
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ViTShape:
    """What the FLOP count of an InternViT depends on."""
    embed_dims: int
    num_heads: int
    mlp_dims: int
    patch_size: int
    in_channels: int = 3
    window_sizes: Tuple[int, ...] = ()  # one per block that runs (0: global attention)
    qkv_bias: bool = False
    norm_type: str = 'rms_norm'
    qk_normalization: bool = True

    @property
    def num_layers(self) -> int:
        return len(self.window_sizes)

    @classmethod
    def from_model(cls, model: InternViT) -> 'ViTShape':
        """The blocks that run: up to the deepest requested output."""
        spec = model.arch
        return cls(model.embed_dims, spec['num_heads'], spec['feedforward_channels'], model.patch_size,
                   model.patch_embed.proj.in_channels,
                   tuple(b.attn.window_size for b in model.blocks[:model._depth_used]), spec['qkv_bias'],
                   spec['norm_type'], spec['qk_normalization'])

    @classmethod
    def from_arch(cls, arch: Union[str, dict], num_layers: Optional[int] = None) -> 'ViTShape':
        spec = resolve_arch(arch)
        depth = spec['num_layers'] if num_layers is None else num_layers
        return cls(spec['embed_dims'], spec['num_heads'], spec['feedforward_channels'], spec['patch_size'],
                   window_sizes=(0, ) * depth, qkv_bias=spec['qkv_bias'], norm_type=spec['norm_type'],
                   qk_normalization=spec['qk_normalization'])


def _shape_of(model_or_shape) -> ViTShape:
    return model_or_shape if isinstance(model_or_shape, ViTShape) else ViTShape.from_model(model_or_shape)


def tokens_for(patch_size: int, hw: Tuple[int, int]) -> Tuple[Tuple[int, int], int]:
    """The patch grid and the token count (cls included) for an H x W input."""
    grid = (hw[0] // patch_size, hw[1] // patch_size)
    return grid, 1 + grid[0] * grid[1]


@dataclass(frozen=True)
class MatMul:
    """``count`` batched products (batch, m, k) @ (batch, k, n); ``count`` is the number of blocks for per-block
    products. MACs = count * batch * m * k * n. ``layout`` is how the right operand is stored: 'nt' as (n, k) (a
    Linear weight, the keys), 'nn' as (k, n) (the values)."""
    group: str
    batch: int
    m: int
    k: int
    n: int
    count: int = 1
    layout: str = 'nt'

    @property
    def macs(self) -> int:
        return self.count * self.batch * self.m * self.k * self.n


def matmul_shapes(model_or_shape, hw: Tuple[int, int], batch: int = 1) -> List[MatMul]:
    """Every matrix product of an InternViT forward pass (the terms of the formula in the module docstring).

    Linear layers are (1, B*N, C_in) @ (C_in, C_out); attention is per (image, head): Q Kᵀ is (N, d) @ (d, N) and
    the weighted sum (N, N) @ (N, d). Identical blocks are one entry with ``count`` = their number.
    """
    s = _shape_of(model_or_shape)
    C, F_, d = s.embed_dims, s.mlp_dims, s.embed_dims // s.num_heads
    grid, N = tokens_for(s.patch_size, hw)
    rows = batch * N
    out = [MatMul('patch_embed', 1, batch * (N - 1), s.in_channels * s.patch_size ** 2, C)]
    linear = [MatMul('attn.qkv', 1, rows, C, 3 * C), MatMul('attn.proj', 1, rows, C, C),
              MatMul('mlp.fc1', 1, rows, C, F_), MatMul('mlp.fc2', 1, rows, F_, C)]
    heads = batch * s.num_heads
    for window, count in sorted(Counter(s.window_sizes).items()):
        out += [MatMul(m.group, m.batch, m.m, m.k, m.n, count) for m in linear]
        if not window:
            out += [MatMul('attn.sdpa', heads, N, d, N, count), MatMul('attn.sdpa', heads, N, N, d, count, 'nn')]
            continue
        n_win = math.ceil(grid[0] / window) * math.ceil(grid[1] / window)
        w2 = window * window
        out += [MatMul('attn.sdpa', heads, 1, d, N, count), MatMul('attn.sdpa', heads, 1, N, d, count, 'nn'),  # cls
                MatMul('attn.sdpa', heads * n_win, w2, d, w2, count),
                MatMul('attn.sdpa', heads * n_win, w2, w2, d, count, 'nn')]
    return out


def internvit_macs(model_or_shape, hw: Tuple[int, int], batch: int = 1) -> Dict[str, int]:
    """The analytic count in MACs per group ('patch_embed', 'attn.qkv', 'attn.sdpa', 'attn.proj', 'mlp.fc1',
    'mlp.fc2') and 'total'."""
    groups: Dict[str, int] = OrderedDict()
    for mm in matmul_shapes(model_or_shape, hw, batch):
        groups[mm.group] = groups.get(mm.group, 0) + mm.macs
    groups['total'] = sum(groups.values())
    return groups


def internvit_params(shape: ViTShape, grid: Tuple[int, int]) -> int:
    """Parameters of an InternViT with these blocks and a position embedding for ``grid``::

        3p²C + C (patch embedding) + C (cls) + (1 + hw) C (positions)
        + L [3C² (+3C qkv bias) + C² + C (proj) + 2CF + F + C (mlp) + 2C (layer scales)
             + 2C (norms; + 2C LayerNorm biases) + 2C (QK-norm)]
    """
    C, F_, p = shape.embed_dims, shape.mlp_dims, shape.patch_size
    stem = shape.in_channels * p * p * C + C + C + (1 + grid[0] * grid[1]) * C
    block = 3 * C * C + C * C + C + 2 * C * F_ + F_ + C + 2 * C + 2 * C
    block += 3 * C * shape.qkv_bias + 2 * C * (shape.norm_type == 'layer_norm') + 2 * C * shape.qk_normalization
    return stem + shape.num_layers * block


# ----------------------------------------------------------------------------------------------------------------
# fvcore
# ----------------------------------------------------------------------------------------------------------------
def _sdpa_macs(inputs, outputs) -> int:
    """fvcore handle for aten::scaled_dot_product_attention: Q Kᵀ and P V, (..., Nq, d) x (..., Nk, d/dv)."""
    from fvcore.nn.jit_handles import get_shape
    q, k, v = (get_shape(t) for t in inputs[:3])
    return math.prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


class _PatchConvAsMatmul(nn.Module):
    """A stride-p p x p convolution written as one matmul per patch (same MACs for fvcore).

    Only for counting on the meta device, where ``torch.jit.trace`` cannot run the convolution's shape check.
    """

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.weight, self.bias, self.p = conv.weight, conv.bias, conv.kernel_size[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        p, h, w = self.p, H // self.p, W // self.p
        patches = x[:, :, :h * p, :w * p].reshape(B, C, h, p, w, p).permute(0, 2, 4, 1, 3, 5).reshape(B, h * w, -1)
        out = F.linear(patches, self.weight.flatten(1), self.bias)
        return out.transpose(1, 2).reshape(B, -1, h, w)


@contextmanager
def _countable_on_meta(model: nn.Module, on_meta: bool):
    swapped = []
    if on_meta:
        for _, vit in find_internvit(model):
            swapped.append((vit.patch_embed, vit.patch_embed.proj))
            vit.patch_embed.proj = _PatchConvAsMatmul(vit.patch_embed.proj)
    try:
        yield
    finally:
        for owner, conv in swapped:
            owner.proj = conv


class _Call(nn.Module):
    def __init__(self, model: nn.Module, fn: Callable):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, x):
        return self.fn(self.model, x)


@dataclass
class FlopRow:
    name: str  # module path, repeated blocks collapsed to 'blocks.*'
    count: int  # modules collapsed into this row
    params: int  # parameters owned by these modules themselves
    macs: int  # fvcore's count for the ops these modules run themselves (not their children)


@dataclass
class FlopReport:
    total: int
    params: int
    rows: List[FlopRow]
    by_module: Dict[str, int]  # inclusive fvcore count per module path
    skipped_ops: Dict[str, int] = field(default_factory=dict)  # ops fvcore does not count, with call counts


_REPEATED = re.compile(r'\b(blocks|layers|layer)\.\d+(?=\.|$)')


def count_model_flops(model: nn.Module, inputs: torch.Tensor,
                      forward: Optional[Callable[[nn.Module, torch.Tensor], object]] = None) -> FlopReport:
    """fvcore's count of ``forward(model, inputs)`` (default ``model(inputs)``), per module and grouped.

    Works on the meta device (an InternViT-6B is counted without allocating its 24 GB): the patch convolution is
    swapped for an equal-MAC matmul while tracing. ``scaled_dot_product_attention`` is counted as its two matrix
    products (fvcore has no handle for it).

    The forward is traced with autograd on: the path a training step runs, whose products sit in the modules
    that own the weights (InternViT's CPU inference splits the fused qkv product inside ``attn``, which would move
    its FLOPs from ``attn.qkv`` to ``attn``; the total is the same either way).
    """
    from fvcore.nn import FlopCountAnalysis
    wrapped = _Call(model, forward or (lambda m, x: m(x)))
    with _countable_on_meta(model, inputs.device.type == 'meta'), torch.enable_grad():
        analysis = (FlopCountAnalysis(wrapped, (inputs, ))
                    .set_op_handle('aten::scaled_dot_product_attention', _sdpa_macs)
                    .unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none'))
        by_module = {name[len('model.'):] if name.startswith('model.') else ('' if name == 'model' else name): v
                     for name, v in analysis.by_module().items() if name != ''}
        skipped = dict(analysis.unsupported_ops())
    rows: Dict[str, FlopRow] = OrderedDict()
    for name, module in model.named_modules():
        children = sum(by_module.get(f'{name}.{c}' if name else c, 0) for c, _ in module.named_children())
        own_macs = by_module.get(name, 0) - children
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        if not own_macs and not own_params:
            continue
        key = _REPEATED.sub(r'\1.*', name) or '(top level)'
        row = rows.setdefault(key, FlopRow(key, 0, 0, 0))
        row.count, row.params, row.macs = row.count + 1, row.params + own_params, row.macs + own_macs
    return FlopReport(by_module.get('', 0), sum(p.numel() for p in model.parameters()), list(rows.values()),
                      by_module, skipped)


def fmt_count(value: float, unit: str = '') -> str:
    """1234567 -> '1.23 M'."""
    for scale, prefix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(value) >= scale:
            return f'{value / scale:.2f} {prefix}{unit}'
    return f'{value:.0f} {unit}'.rstrip()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (right-aligned numbers), readable as plain text too."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(re.match(r'^[-+]?[\d.,]+', r[i]) or r[i] in ('', '-') for r in cells[1:]) for i in
               range(len(headers))]

    def line(r):
        return '| ' + ' | '.join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)) + ' |'
    sep = '| ' + ' | '.join(('-' * (w - 1) + ':') if num else '-' * w for w, num in zip(widths, numeric)) + ' |'
    return '\n'.join([line(cells[0]), sep] + [line(r) for r in cells[1:]])

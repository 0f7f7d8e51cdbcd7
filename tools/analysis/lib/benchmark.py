"""Side-by-side benchmark of InternViT: internvl_mm against transformers' ``InternVLVisionModel`` with the same
weights, and against the matmul ceiling of the model's own shapes, measured in the same run.

Method (``tools/analysis/benchmark.py`` is the command line):

- One *case* is a preset (blocks, width), an input size, a dtype, a batch, forward or train step (forward +
  backward of ``mean(out²)``, no optimizer step) and activation checkpointing on or off.
- Each implementation (and the ceiling) runs ``warmup`` times, then ``repeats`` rounds in which every one runs once,
  in an order that rotates from round to round; times are medians, and ratios are medians of the per-round ratios,
  so that a slow spell of a shared machine hits both sides of a ratio.
- The *matmul ceiling* runs every matrix product of the step (:func:`step_matmuls`: the analytic count's products
  for a forward pass; for a train step also the two products of each backward, and the recomputed forward with
  checkpointing) as plain ``torch.matmul`` calls on tensors of the same shapes, layouts and dtype (attention in
  the query tiles a fused kernel runs, see :class:`MatmulCeiling`). ``roofline`` = ceiling time / model time =
  the model's FLOP rate as a fraction of what its matmuls alone reach.
- Peak memory is what the step allocates on top of the weights and the input: on CUDA
  ``max_memory_allocated``; on the CPU the live tensor storages seen at the ATen level (:class:`LiveTensorBytes`:
  activations, saved tensors, gradients, attention matrices; not the kernels' internal scratch buffers).
- Results are compared in the first warm-up: forward outputs; for train steps the loss and every parameter
  gradient (ours mapped to transformers' names, q/k/v split out of the fused qkv).
"""
import math
import os
import statistics
import time
import weakref
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from internvl_mm.models.backbones.intern_vit import InternViT, resolve_arch

from .flops import ViTShape, matmul_shapes, tokens_for
from .reference import to_transformers_layout, transformers_reference

# preset -> (arch, blocks run on the CPU by default; on CUDA every preset runs at full depth)
PRESETS = {'tiny': ('tiny', None), '300m': ('300m', 4), '6b': ('6b-224', 2)}
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
OURS = 'internvl_mm'
CEILING = 'matmul ceiling'
REFERENCES = {'sdpa': 'hf-sdpa', 'eager': 'hf-eager'}  # transformers attn_implementation -> column name

# Dense bf16 / fp32 (non-tensor-core) peaks in TFLOP/s, by a substring of torch.cuda.get_device_name(); the first
# match wins, so specific names come first. --peak-tflops overrides.
GPU_PEAK_TFLOPS = (
    ('H100 PCIe', 756, 51), ('H100 NVL', 835, 60), ('H100', 989, 67), ('H200', 989, 67), ('H800', 989, 67),
    ('H20', 148, 44), ('GH200', 989, 67), ('B200', 2250, 80), ('A100', 312, 19.5), ('A800', 312, 19.5),
    ('L40S', 362, 91.6), ('L40', 181, 90.5), ('L4', 121, 30.3), ('A10', 125, 31.2), ('RTX 4090', 165, 82.6),
    ('RTX 3090', 71, 35.6), ('A6000', 155, 38.7),
)

TARGETS = dict(forward_roofline=0.95, train_roofline=0.85, speedup=1.0, rel_err=1e-5, gpu_6b_224_forward_mfu=0.65)


def gpu_peak_tflops(device_name: str, dtype: torch.dtype) -> Optional[float]:
    for key, bf16, fp32 in GPU_PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return bf16 if dtype == torch.bfloat16 else fp32
    return None


# ----------------------------------------------------------------------------------------------------------------
# Models with the same random weights
# ----------------------------------------------------------------------------------------------------------------
def bench_arch(preset: str, blocks: Optional[int], img_size: int) -> dict:
    """The arch dict of a preset with ``blocks`` blocks (None: the preset's full depth) and the input size as
    ``img_size`` (position embeddings for the benchmarked grid: no interpolation on either side)."""
    spec = resolve_arch(PRESETS[preset][0])
    if blocks:
        spec['num_layers'] = blocks
    spec['img_size'] = img_size
    return spec


@torch.no_grad()
def random_init_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic weights with every parameter non-trivial (norm weights and layer scales away from 1 / 0.1)."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)  # generated where the weights live (6B on a GPU)
    for name, p in model.named_parameters():
        if name.endswith(('norm1.weight', 'norm2.weight', 'norm.weight', 'gamma')):
            p.copy_(torch.rand(p.shape, generator=gen, device=device) + 0.5)
        else:
            p.copy_(torch.randn(p.shape, generator=gen, device=device) * 0.02)
    return model


def build_ours(spec: dict, device: torch.device, dtype: torch.dtype, seed: int = 0) -> InternViT:
    """Built on the meta device, then materialised once on ``device`` (no fp32 CPU copy of a 6B model first)."""
    with torch.device('meta'):
        model = InternViT(spec, out_type='raw')
    model.to_empty(device=device)
    model.to(dtype)
    model._pos_embed_cache.clear()
    return random_init_(model, seed)


# ----------------------------------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------------------------------
class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of tensor storages created while active and still alive (CPU peak memory of a step).

    Every ATen op's outputs are registered unless they share storage with an input (views, in-place ops), and
    released when their storage is freed. Tensors that existed before (weights, input) are not counted.
    """

    def __init__(self):
        super().__init__()
        self.live = 0
        self.peak = 0
        self._tracked = set()

    def _release(self, key: int, nbytes: int):
        self._tracked.discard(key)
        self.live -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for t in tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.is_meta:
                continue
            storage = t.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes and key not in inputs and key not in self._tracked:
                self._tracked.add(key)
                self.live += nbytes
                self.peak = max(self.peak, self.live)
                weakref.finalize(storage, self._release, key, nbytes)
        return out


def peak_bytes(fn: Callable[[], object], device: torch.device) -> Tuple[object, int]:
    """(fn(), the peak bytes it allocated on top of what was allocated before)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        result = fn()
        torch.cuda.synchronize(device)
        return result, torch.cuda.max_memory_allocated(device) - base
    with LiveTensorBytes() as tracker:
        result = fn()
    return result, tracker.peak


# ----------------------------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------------------------
def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call: CUDA events around it on a GPU, ``perf_counter`` on the CPU."""
    if device.type == 'cuda':
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------------------------------------------
# The matmul ceiling
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Product:
    """(batch, m, k) @ (batch, k, n), run ``count`` times in a step, with its operands stored as autograd has them:
    'nt' = A @ Bᵀ with B stored (n, k) (a Linear forward, Q Kᵀ), 'nn' = A @ B (an input gradient dY @ W, P V),
    'tn' = Aᵀ @ B with A stored (k, m) (a weight gradient dYᵀ @ X)."""
    name: str
    batch: int
    m: int
    k: int
    n: int
    count: int
    layout: str = 'nt'

    @property
    def flops(self) -> int:  # hardware FLOPs: 2 per multiply-accumulate
        return 2 * self.count * self.batch * self.m * self.k * self.n


def step_matmuls(shape: ViTShape, hw: Tuple[int, int], batch: int, mode: str, checkpointing: bool) -> List[Product]:
    """Every matrix product a forward pass or a train step of the model executes, per block kind.

    A train step adds, per forward product C = A op(B), the product for the gradient of its left operand (not for
    the patch embedding: the image needs no gradient), dA = dC op(B)ᵀ, and for its right operand, dB = Aᵀ dC (as
    stored); activation checkpointing recomputes the blocks' forward products in the backward pass.
    """
    out = []
    for mm in matmul_shapes(shape, hw, batch):
        block = mm.group != 'patch_embed'
        recompute = mode == 'train' and checkpointing and block
        out.append(Product(f'{mm.group} fwd', mm.batch, mm.m, mm.k, mm.n, mm.count * (1 + recompute), mm.layout))
        if mode == 'train':
            if block:
                out.append(Product(f'{mm.group} dA', mm.batch, mm.m, mm.n, mm.k, mm.count,
                                   'nn' if mm.layout == 'nt' else 'nt'))
            if mm.layout == 'nt':  # dB stored (n, k): dCᵀ @ A
                out.append(Product(f'{mm.group} dB', mm.batch, mm.n, mm.m, mm.k, mm.count, 'tn'))
            else:  # dB stored (k, n): Aᵀ @ dC
                out.append(Product(f'{mm.group} dB', mm.batch, mm.k, mm.m, mm.n, mm.count, 'tn'))
    return out


def useful_flops(shape: ViTShape, hw: Tuple[int, int], batch: int, mode: str) -> int:
    """Model FLOPs of a step without recomputation (2 per MAC): what MFU counts."""
    return sum(p.flops for p in step_matmuls(shape, hw, batch, mode, checkpointing=False))


class MatmulCeiling:
    """Runs each product of a step once and returns the time the whole step's products take (sum of time x repeat
    count); a batch is run in chunks so that no operand exceeds ``max_chunk_bytes``.

    Attention products run in the tiles a fused attention kernel executes (``attention_tile``: 256 queries x 512
    keys, PyTorch's CPU flash kernel's blocks), one tile per call on the CPU: a memory-linear implementation never
    materialises the N x N matrix, and products that do measure memory traffic rather than the matmul ceiling (at
    896 px the flash kernel outruns untiled products by 30 %).
    """

    def __init__(self, products: Sequence[Product], device: torch.device, dtype: torch.dtype,
                 max_chunk_bytes: int = 256 << 20, attention_tile: Tuple[int, int] = (256, 512)):
        self.device, self.dtype = device, dtype
        self.max_chunk_bytes = max_chunk_bytes
        self.products = []
        for p in products:
            self.products += self._tiled(p, *attention_tile) if p.name.startswith('attn.sdpa') else [p]
        self._operands: Dict[tuple, Tuple[torch.Tensor, torch.Tensor, int]] = {}

    @staticmethod
    def _tiled(p: Product, query_tile: int, key_tile: int) -> List[Product]:
        """``p`` split into tiles of at most query_tile rows and key_tile for the other dimensions above
        key_tile (a head's width stays whole); the FLOPs are unchanged."""
        def split(size, tile):
            if size <= tile:
                return [(size, 1)]
            return [(tile, size // tile)] + ([(size % tile, 1)] if size % tile else [])
        return [Product(p.name, p.batch * mc * kc * nc, m, k, n, p.count, p.layout)
                for m, mc in split(p.m, query_tile) for k, kc in split(p.k, key_tile)
                for n, nc in split(p.n, key_tile)]

    def _chunk(self, p: Product):
        key = (p.batch, p.m, p.k, p.n, p.layout)
        if key not in self._operands:
            itemsize = torch.empty((), dtype=self.dtype).element_size()
            largest = max(p.m * p.k, p.n * p.k, p.m * p.n) * itemsize
            chunk = max(1, min(p.batch, self.max_chunk_bytes // max(largest, 1)))
            if p.name.startswith('attn.sdpa') and self.device.type == 'cpu':
                chunk = 1  # tile by tile, as the kernel works through them in cache
            gen = torch.Generator(device='cpu').manual_seed(0)
            a_shape = (chunk, p.k, p.m) if p.layout == 'tn' else (chunk, p.m, p.k)
            b_shape = (chunk, p.n, p.k) if p.layout == 'nt' else (chunk, p.k, p.n)
            a = torch.randn(a_shape, generator=gen).to(self.device, self.dtype)
            b = torch.randn(b_shape, generator=gen).to(self.device, self.dtype)
            if p.layout == 'tn':
                a = a.transpose(1, 2)
            if p.layout == 'nt':
                b = b.transpose(1, 2)
            if chunk == 1:  # a plain 2-D product, as nn.Linear and its backward run it
                a, b = a[0], b[0]
            self._operands[key] = (a, b, math.ceil(p.batch / chunk))
        return self._operands[key]

    def __call__(self) -> float:
        total = 0.0
        for p in self.products:
            a, b, chunks = self._chunk(p)
            total += timed(lambda: [torch.matmul(a, b) for _ in range(chunks)], self.device) * p.count
        return total


# ----------------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    preset: str
    blocks: int
    size: int
    dtype: str
    mode: str  # 'forward' or 'train'
    checkpointing: bool
    batch: int

    @property
    def label(self) -> str:
        cp = ' +cp' if self.checkpointing else ''
        return f'{self.preset} x{self.blocks} {self.size}px {self.dtype} {self.mode}{cp} b{self.batch}'


@dataclass
class Measured:
    """One implementation in one case; times in seconds."""
    times: List[float] = field(default_factory=list)
    peak_bytes: Optional[int] = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Row:
    case: Case
    tokens: int
    embed_dims: int
    flops: int  # executed matmul FLOPs of the step (2 per MAC), recomputation included
    useful_flops: int  # without recomputation (MFU)
    results: Dict[str, Measured]
    speedup: Dict[str, float]  # reference -> median over rounds of t_reference / t_ours
    roofline: Dict[str, float]  # implementation -> median over rounds of t_ceiling / t_implementation
    out_rel_err: Dict[str, float]
    grad_rel_err: Dict[str, float]
    mfu: Optional[float] = None
    error: Optional[str] = None

    def ms(self, name: str) -> float:
        return self.results[name].median * 1e3

    def images_per_s(self, name: str) -> float:
        return self.case.batch / self.results[name].median

    def gflops_per_s(self, name: str) -> float:
        return self.flops / self.results[name].median / 1e9

    def to_dict(self) -> dict:
        d = asdict(self)
        d['case']['label'] = self.case.label
        for name, m in self.results.items():
            d['results'][name]['median_s'] = m.median
            d['results'][name]['gflops_per_s'] = self.gflops_per_s(name)
            d['results'][name]['images_per_s'] = self.images_per_s(name)
        return d


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def _grads_rel_err(ours: nn.Module, ref: nn.Module) -> float:
    """Relative error of all of ours' gradients (mapped to transformers' names) against the reference's."""
    mapped = to_transformers_layout({n: p.grad for n, p in ours.named_parameters() if p.grad is not None})
    ref_grads = {n: p.grad for n, p in ref.named_parameters() if p.grad is not None}
    if set(mapped) != set(ref_grads):
        return float('inf')
    num = sum((mapped[n].double() - g.double()).square().sum() for n, g in ref_grads.items())
    den = sum(g.double().square().sum() for g in ref_grads.values())
    return math.sqrt(num / max(den, 1e-30))


def _step(model: nn.Module, x: torch.Tensor, mode: str, transformers_model: bool) -> Callable[[], torch.Tensor]:
    """The callable a case times: returns the forward output, or the train step's loss (gradients stay in .grad
    until the next step clears them)."""
    def output():
        return model(pixel_values=x).last_hidden_state if transformers_model else model(x)[0]

    if mode == 'forward':
        def forward():
            with torch.no_grad():
                return output()
        return forward

    params = [p for p in model.parameters() if p.requires_grad]

    def train():
        for p in params:
            p.grad = None
        loss = output().float().square().mean()
        loss.backward()
        return loss.detach()
    return train


def run_case(case: Case, device: torch.device, references: Sequence[str], warmup: int = 1, repeats: int = 3,
             seed: int = 0, peak_tflops: Optional[float] = None, sdpa_backends=None, compile: bool = False,
             log: Callable[[str], None] = lambda s: None) -> Row:
    """Build both models for ``case``, check they agree, time them and the matmul ceiling interleaved.

    ``compile`` runs every implementation through ``torch.compile`` (fusing the elementwise ops between the
    matmuls on a GPU); the warm-up rounds absorb the compilation.
    """
    dtype = DTYPES[case.dtype]
    spec = bench_arch(case.preset, case.blocks, case.size)
    ours = build_ours(spec, device, dtype, seed)
    shape = ViTShape.from_model(ours)
    hw = (case.size, case.size)
    _, tokens = tokens_for(shape.patch_size, hw)
    models = {OURS: ours}
    for attn in references:
        models[REFERENCES[attn]] = transformers_reference(ours, attn)
    train = case.mode == 'train'
    for name, model in models.items():
        model.train(train)
        if case.checkpointing:
            if name == OURS:
                model.set_grad_checkpointing(True)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=dict(use_reentrant=False))
    gen = torch.Generator(device='cpu').manual_seed(seed + 1)
    x = torch.randn(case.batch, 3, *hw, generator=gen).to(device, dtype)
    steps = {name: _step(torch.compile(m) if compile else m, x, case.mode, name != OURS)
             for name, m in models.items()}
    products = step_matmuls(shape, hw, case.batch, case.mode, case.checkpointing)
    ceiling = MatmulCeiling(products, device, dtype)
    results = {name: Measured() for name in [*steps, CEILING]}
    out_err, grad_err = {}, {}
    context = _sdpa_context(sdpa_backends)

    with context:
        # Warm-up: the first round also measures peak memory and checks the outputs against ours.
        for i in range(warmup):
            outputs = {}
            for name, step in steps.items():
                if i == 0:
                    outputs[name], results[name].peak_bytes = peak_bytes(step, device)
                    if name != OURS:
                        out_err[name] = rel_err(outputs[name], outputs[OURS])
                        if train:
                            grad_err[name] = _grads_rel_err(ours, models[name])
                            models[name].zero_grad(set_to_none=True)
                else:
                    step()
                    models[name].zero_grad(set_to_none=True)
            ours.zero_grad(set_to_none=True)
            ceiling()
            log(f'  warm-up {i + 1}/{warmup} done')
        names = list(results)
        for r in range(repeats):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                results[name].times.append(ceiling() if name == CEILING else timed(steps[name], device))
                if name != CEILING:
                    models[name].zero_grad(set_to_none=True)  # untimed: only one model's gradients exist at a time
            log(f'  round {r + 1}/{repeats}: ' + ', '.join(f'{n} {results[n].times[-1] * 1e3:.1f} ms'
                                                           for n in names))

    def paired(num: str, den: str) -> float:
        return statistics.median(a / b for a, b in zip(results[num].times, results[den].times))

    flops = sum(p.flops for p in products)
    useful = useful_flops(shape, hw, case.batch, case.mode)
    row = Row(case, tokens, shape.embed_dims, flops, useful, results,
              speedup={name: paired(name, OURS) for name in steps if name != OURS},
              roofline={name: paired(CEILING, name) for name in steps},
              out_rel_err=out_err, grad_rel_err=grad_err)
    if peak_tflops:
        row.mfu = useful / results[OURS].median / (peak_tflops * 1e12)
    del models, steps, ours
    return row


def _sdpa_context(backends):
    """Restrict scaled_dot_product_attention to the given backends (names of torch.nn.attention.SDPBackend)."""
    import contextlib
    if not backends:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel([getattr(SDPBackend, b.upper()) for b in backends])


# ----------------------------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------------------------
def _mb(value: Optional[int]) -> str:
    return '-' if value is None else f'{value / 2 ** 20:,.0f}'


def results_table(rows: Sequence[Row], references: Sequence[str]) -> Tuple[List[str], List[list]]:
    refs = [REFERENCES[a] for a in references]
    headers = ['preset', 'blocks', 'px', 'tokens', 'batch', 'dtype', 'step', 'cp', f'{OURS} ms', 'img/s',
               'GFLOP/s', 'ceiling GFLOP/s', 'roofline']
    for ref in refs:
        headers += [f'{ref} ms', f'speedup vs {ref}', f'{ref} roofline']
    headers += [f'{OURS} peak MB'] + [f'{ref} peak MB' for ref in refs] + ['max rel err', 'MFU']
    body = []
    for row in rows:
        c = row.case
        if row.error:
            body.append([c.preset, c.blocks, c.size, row.tokens, c.batch, c.dtype, c.mode,
                         'on' if c.checkpointing else 'off', row.error] + [''] * (len(headers) - 9))
            continue
        line = [c.preset, c.blocks, c.size, row.tokens, c.batch, c.dtype, c.mode, 'on' if c.checkpointing else 'off',
                f'{row.ms(OURS):.1f}', f'{row.images_per_s(OURS):.2f}', f'{row.gflops_per_s(OURS):.1f}',
                f'{row.gflops_per_s(CEILING):.1f}', f'{row.roofline[OURS]:.3f}']
        for ref in refs:
            line += [f'{row.ms(ref):.1f}', f'{row.speedup[ref]:.3f}', f'{row.roofline[ref]:.3f}']
        line += [_mb(row.results[OURS].peak_bytes)] + [_mb(row.results[ref].peak_bytes) for ref in refs]
        errs = list(row.out_rel_err.values()) + list(row.grad_rel_err.values())
        line += [f'{max(errs):.1e}' if errs else '-', f'{row.mfu:.1%}' if row.mfu is not None else '-']
        body.append(line)
    return headers, body


def scaling_table(rows: Sequence[Row], references: Sequence[str]) -> Tuple[List[str], List[list]]:
    """How cost grows with the token count: per (preset, dtype, step, cp, batch), each size against the smallest,
    and the peak memory per added token between consecutive sizes (constant when memory is linear in tokens)."""
    names = [OURS] + [REFERENCES[a] for a in references]
    headers = ['preset', 'dtype', 'step', 'cp', 'batch', 'px', 'tokens x', 'FLOPs x'] + \
        [f'{n} time x' for n in names] + \
        [f'{n} MB/token' for n in names]
    groups: Dict[tuple, List[Row]] = {}
    for row in rows:
        if not row.error:
            c = row.case
            groups.setdefault((c.preset, c.blocks, c.dtype, c.mode, c.checkpointing, c.batch), []).append(row)
    body = []
    for key, group in groups.items():
        group.sort(key=lambda r: r.tokens)
        first = group[0]
        for prev, row in zip([None] + group[:-1], group):
            line = [key[0], key[2], key[3], 'on' if key[4] else 'off', key[5], row.case.size,
                    f'{row.tokens / first.tokens:.2f}', f'{row.flops / first.flops:.2f}']
            line += [f'{row.results[n].median / first.results[n].median:.2f}' for n in names]
            for n in names:
                line.append('-' if prev is None else f'{marginal_bytes_per_token(prev, row, n) / 2 ** 20:.3f}')
            body.append(line)
    return headers, body


def marginal_bytes_per_token(smaller: Row, larger: Row, name: str) -> float:
    a, b = smaller.results[name].peak_bytes, larger.results[name].peak_bytes
    return (b - a) / ((larger.tokens - smaller.tokens) * larger.case.batch)


def memory_linearity(rows: Sequence[Row], name: str = OURS, tolerance: float = 1.25) -> List[dict]:
    """Per group of >= 3 sizes: the marginal memory per token of the last step over the first (1.0 when peak memory
    is affine in the token count; an N² attention matrix drives it towards (N3 + N2) / (N2 + N1) ~ 4)."""
    groups: Dict[tuple, List[Row]] = {}
    for row in rows:
        c = row.case
        if not row.error and row.results.get(name) and row.results[name].peak_bytes is not None:
            groups.setdefault((c.preset, c.blocks, c.dtype, c.mode, c.checkpointing, c.batch), []).append(row)
    out = []
    for key, group in groups.items():
        if len(group) < 3:
            continue
        group.sort(key=lambda r: r.tokens)
        slopes = [marginal_bytes_per_token(a, b, name) for a, b in zip(group, group[1:])]
        ratio = slopes[-1] / slopes[0] if slopes[0] > 0 else float('inf')
        out.append(dict(preset=key[0], dtype=key[2], mode=key[3], checkpointing=key[4], batch=key[5],
                        sizes=[r.case.size for r in group], slopes_mb_per_token=[s / 2 ** 20 for s in slopes],
                        ratio=ratio, linear=ratio <= tolerance))
    return out


def target_checks(rows: Sequence[Row], device: torch.device) -> List[Tuple[str, bool, str]]:
    """The issue's targets, checked on the rows they apply to: 6B-width blocks (C >= 3200)."""
    checks = []
    for row in rows:
        c = row.case
        if row.error or row.embed_dims < 3200:
            continue
        if device.type == 'cpu' and c.dtype == 'fp32' and not c.checkpointing:
            key = 'forward_roofline' if c.mode == 'forward' else 'train_roofline'
            value = row.roofline[OURS]
            checks.append((f'{c.label}: roofline {value:.3f} >= {TARGETS[key]}', value >= TARGETS[key], key))
        for ref, value in row.speedup.items():
            checks.append((f'{c.label}: speedup vs {ref} {value:.3f} >= {TARGETS["speedup"]}',
                           value >= TARGETS['speedup'], 'speedup'))
        errs = list(row.out_rel_err.values()) + list(row.grad_rel_err.values())
        if c.dtype == 'fp32' and errs:
            what = 'loss and gradients' if c.mode == 'train' else 'output'
            checks.append((f'{c.label}: {what} rel err {max(errs):.1e} <= {TARGETS["rel_err"]:.0e}',
                           max(errs) <= TARGETS['rel_err'], 'rel_err'))
        if device.type == 'cuda' and row.mfu is not None and c.mode == 'forward' and c.size == 224 \
                and c.dtype == 'bf16':
            key = 'gpu_6b_224_forward_mfu'
            checks.append((f'{c.label}: MFU {row.mfu:.1%} >= {TARGETS[key]:.0%}', row.mfu >= TARGETS[key], key))
    return checks


def environment(device: torch.device) -> Dict[str, object]:
    env = dict(torch=torch.__version__, device=str(device), threads=torch.get_num_threads())
    if device.type == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(device)
    else:
        env['cpu_capability'] = torch.backends.cpu.get_cpu_capability()
        env['cores'] = os.cpu_count()
    try:
        env['loadavg'] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return env

"""Per-GPU memory of a training config under each strategy: model states and activations.

Model states follow DeepSpeed's accounting (and its estimators give the same figures when every parameter trains):
with Ψ parameters of which Ψt train, N ranks, bf16 compute with fp32 master weights and an optimizer keeping ``s``
fp32 states per parameter (AdamW 2, SGD with momentum 1):

====================  ============================================================================
DDP (AMP)             4Ψ + 4Ψt + 4sΨt              (fp32 weights, grads, states on every rank)
ZeRO-1                2Ψ + 2Ψt + (4 + 4 + 4s)Ψt/N  (bf16 weights and grads; fp32 grads, master, states
                                                    sharded)
ZeRO-2                2Ψ + (2 + 4 + 4 + 4s)Ψt/N    (+ bf16 gradients sharded)
ZeRO-3                (2Ψ + (2 + 4 + 4 + 4s)Ψt)/N + 4L   (+ weights sharded; L: largest layer, gathered;
                                                    DeepSpeed's estimator leaves out the 2Ψ/N weight shard)
ZeRO-2 offload        2Ψ                            (optimizer step on the CPU)
ZeRO-3 offload        4L                            (weights and optimizer on the CPU)
FSDP                  (4Ψ + 4Ψg + 4sΨt)/N + 4B      (fp32 shards; B: one block's weights gathered in bf16,
                                                    two in flight; Ψg: parameters of the units holding
                                                    anything trainable, whose flat gradient covers the
                                                    whole unit)
====================  ============================================================================

Parameter-efficient tuning (LoRA / DoRA adapters) is the case Ψt << Ψ. Frozen weights are stored in bf16 when
the config runs the backbone through ``BF16BackboneHook`` (DDP: 2(Ψ - Ψt) + 4Ψt for the weights); DeepSpeed casts
every weight to bf16 anyway. Under FSDP (``use_orig_params``) an adapter shares its block's unit with the frozen
base, so the unit's flat gradient, and Ψg, is the whole block: measured on two CPU ranks in tests/tools/test_peft.py.

Activations are measured, not modelled: one forward pass of the config's real model on the ``meta`` device (no
memory, no compute) records every tensor autograd saves for the backward pass, with and without the model's
activation checkpointing. Models with ops that have no meta kernel (mmcv's RoIAlign in detectors) fall back to the
backbone alone, which the report says.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

GiB = 2**30
BYTE_UNITS = (('GiB', GiB), ('MiB', 2**20), ('KiB', 2**10))
OPTIMIZER_STATES = {'AdamW': 2, 'Adam': 2, 'SGD': 1, 'Lamb': 2, 'LAMB': 2}


@dataclass
class ModelFacts:
    params: int
    trainable: int
    largest_layer: int  # parameters of the largest single module (ZeRO-3's gathered working set)
    largest_block: int  # parameters of the largest transformer block (FSDP unit)
    optimizer_states: int
    grad_params: int = 0  # FSDP: parameters of the wrap units (blocks) holding anything trainable, plus the rest
    frozen_bytes: int = 4  # bytes per frozen weight (2 when the config keeps the frozen backbone in bf16)


@dataclass
class Plan:
    strategy: str
    model_states: float  # bytes per GPU
    activations: float  # bytes per GPU

    @property
    def total(self) -> float:
        return self.model_states + self.activations


@dataclass
class ActivationReport:
    saved: float  # bytes autograd keeps for backward, no checkpointing
    saved_with_cp: float  # with every transformer block checkpointed (inputs kept, one block recomputed)
    scope: str  # 'whole model' or 'backbone only'
    per_block: float = 0.0


def checkpointable_blocks(model: nn.Module) -> List[nn.Module]:
    """The transformer blocks in ``model``: instances of the block classes its modules declare in
    ``checkpointable_blocks`` (InternViT's blocks, QLLaMA's layers), the units activation checkpointing and FSDP
    wrap."""
    from internvl_mm.models.block_checkpointing import checkpointable_block_classes
    classes = checkpointable_block_classes(model)
    return [m for m in model.modules() if isinstance(m, classes)] if classes else []


def model_facts(model: nn.Module, optimizer_type: str, frozen_in_bf16: bool = False) -> ModelFacts:
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    largest_layer = max((sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules()), default=0)
    blocks = checkpointable_blocks(model)
    largest_block = max((sum(p.numel() for p in b.parameters()) for b in blocks), default=largest_layer)
    in_blocks = {id(p) for b in blocks for p in b.parameters()}
    grad_params = sum(sum(p.numel() for p in b.parameters()) for b in blocks
                      if any(p.requires_grad for p in b.parameters()))
    grad_params += sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in in_blocks)
    return ModelFacts(params, trainable, largest_layer, largest_block, OPTIMIZER_STATES.get(optimizer_type, 2),
                      grad_params, 2 if frozen_in_bf16 else 4)


def model_state_bytes_per_gpu(facts: ModelFacts, ranks: int, mixed_precision: bool = True) -> Dict[str, float]:
    """Bytes of weights, gradients and optimizer state per GPU for each strategy (see the module docstring).
    ``mixed_precision=False`` gives fp32 training (as on CPU ranks), where DeepSpeed still keeps an fp32 master
    copy of each partition."""
    P, T, L, B, s, N = (facts.params, facts.trainable, facts.largest_layer, facts.largest_block,
                        facts.optimizer_states, ranks)
    G = facts.grad_params or T
    if mixed_precision:
        return {
            'DDP': facts.frozen_bytes * (P - T) + 4 * T + 4 * T + 4 * s * T,
            'ZeRO-1': 2 * P + 2 * T + (8 + 4 * s) * T / N,
            'ZeRO-2': 2 * P + (10 + 4 * s) * T / N,
            'ZeRO-3': (2 * P + (10 + 4 * s) * T) / N + 4 * L,
            'ZeRO-2 offload': 2 * P,
            'ZeRO-3 offload': 4 * L,
            'FSDP': (4 * P + 4 * G + 4 * s * T) / N + 2 * 2 * B,
        }
    return {
        'DDP': 4 * P + 4 * T + 4 * s * T,
        'ZeRO-1': 4 * P + 4 * T + (4 + 4 * s) * T / N,
        'ZeRO-2': 4 * P + (8 + 4 * s) * T / N,
        'ZeRO-3': (4 * P + (8 + 4 * s) * T) / N,
        'FSDP': (4 * P + 4 * G + 4 * s * T) / N,
    }


class SavedTensorMeter:
    """Counts the bytes of every tensor autograd saves for backward except the parameters, buffers and inputs in
    ``exclude`` (accounted elsewhere): in total, and per call of each watched transformer block with the size of
    its input (what checkpointing keeps instead). Blocks of different kinds (ViT blocks, QLLaMA layers) differ."""

    def __init__(self, exclude: Set[int]):
        self.exclude = exclude
        self.total = 0
        self.calls: List[List[int]] = []  # [saved bytes, input bytes] per block call
        self._current: Optional[List[int]] = None

    def pack(self, t: torch.Tensor):
        if id(t) not in self.exclude:
            size = t.numel() * t.element_size()
            self.total += size
            if self._current is not None:
                self._current[0] += size
        return t

    def watch(self, blocks: List[nn.Module]) -> list:
        def enter(module, args, kwargs):
            hidden = args[0] if args else next(iter(kwargs.values()))
            self._current = [0, hidden.numel() * hidden.element_size()]

        def leave(module, args, out):
            self.calls.append(self._current)
            self._current = None

        return [h for b in blocks for h in (b.register_forward_pre_hook(enter, with_kwargs=True),
                                            b.register_forward_hook(leave))]


@contextmanager
def efficient_attention_on_meta():
    """On the meta device ``scaled_dot_product_attention`` takes the math path, which saves the T x T attention
    matrix; GPUs run the memory-efficient / flash kernels, which save q, k, v, the output and the log-sum-exp.
    Measure what the GPU kernels keep."""
    original = F.scaled_dot_product_attention

    def efficient(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kwargs):
        if q.device.type != 'meta':
            return original(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale,
                            **kwargs)
        if attn_mask is not None and attn_mask.dtype == torch.bool:
            attn_mask = torch.zeros(attn_mask.shape, dtype=q.dtype, device=q.device)
        if attn_mask is not None:
            attn_mask = attn_mask.expand(q.shape[0], q.shape[1], q.shape[2], k.shape[2])
        return torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, attn_mask, True, 0.0, is_causal,
                                                                      scale=scale)[0]

    F.scaled_dot_product_attention = efficient
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def measure_activations(forward: Callable[[], object], model: nn.Module, inputs: torch.Tensor, dtype_bytes: int,
                        scope: str) -> ActivationReport:
    """Run ``forward`` (on meta tensors) and report what it saves for backward, rescaled from fp32 to
    ``dtype_bytes``, with and without every transformer block of ``model`` checkpointed."""
    from internvl_mm.engine.strategies import disable_model_checkpointing
    blocks = checkpointable_blocks(model)
    disable_model_checkpointing(model)  # measure everything a block saves; checkpointing is derived below
    exclude = {id(t) for t in (*model.parameters(), *model.buffers(), inputs)}
    meter = SavedTensorMeter(exclude)
    handles = meter.watch(blocks)
    try:
        with torch.autograd.graph.saved_tensors_hooks(meter.pack, lambda t: t), torch.enable_grad(), \
                efficient_attention_on_meta():
            forward()
    finally:
        for handle in handles:
            handle.remove()
    scale = dtype_bytes / 4
    saved = meter.total * scale
    # checkpointing keeps each block's input instead of what it saves, and recomputes one block at a time in the
    # backward pass (the largest one sets the peak)
    block_saved = [c[0] * scale for c in meter.calls if c[0]]  # frozen blocks (no grad) save nothing
    kept_inputs = [c[1] * scale for c in meter.calls if c[0]]
    with_cp = saved - sum(block_saved) + sum(kept_inputs) + max(block_saved, default=0)
    return ActivationReport(saved, with_cp, scope, max(block_saved, default=0))


def plan(facts: ModelFacts, activations: ActivationReport, gpus: int, nodes: int = 1,
         mixed_precision: bool = True, with_cp: bool = True) -> List[Plan]:
    ranks = gpus * nodes
    acts = activations.saved_with_cp if with_cp else activations.saved
    return [Plan(name, states, acts) for name, states in model_state_bytes_per_gpu(
        facts, ranks, mixed_precision).items()]


def deepspeed_estimates(facts: ModelFacts, gpus: int, nodes: int) -> Dict[str, float]:
    """DeepSpeed's own model-state estimators (GPU bytes, every parameter trainable, Adam)."""
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs
    P, L = facts.params, facts.largest_layer
    return {
        'ZeRO-2': estimate_zero2_model_states_mem_needs(P, gpus, nodes, cpu_offload=False)[1],
        'ZeRO-2 offload': estimate_zero2_model_states_mem_needs(P, gpus, nodes, cpu_offload=True)[1],
        'ZeRO-3': estimate_zero3_model_states_mem_needs(P, L, gpus, nodes, cpu_offload=False)[1],
        'ZeRO-3 offload': estimate_zero3_model_states_mem_needs(P, L, gpus, nodes, cpu_offload=True,
                                                                cpu_offload_params=True)[1],
    }


def byte_unit(value: float) -> Tuple[str, int]:
    """The largest of GiB, MiB, KiB that ``value`` bytes reach, else bytes: (name, size)."""
    return next(((name, size) for name, size in BYTE_UNITS if abs(value) >= size), ('B', 1))


def fmt_bytes(value: float, unit: Optional[Tuple[str, int]] = None) -> str:
    """Bytes in ``unit`` (default: by magnitude), e.g. '28.8 GiB', '96.7 MiB', '512 B'."""
    name, size = unit or byte_unit(value)
    return f'{value:.0f} B' if size == 1 else f'{value / size:.1f} {name}'


def fmt_params(count: int) -> str:
    """A parameter count by magnitude: '6.39B', '1.23M', '4.56K', '789'."""
    for scale, suffix in ((1e9, 'B'), (1e6, 'M'), (1e3, 'K')):
        if count >= scale:
            return f'{count / scale:.2f}{suffix}'
    return str(count)


def format_plan(title: str, plans: List[Plan], gpu_mem: float) -> str:
    """The table of ``plans``, every figure in the unit of the largest total (GiB for billion-parameter models)."""
    unit = byte_unit(max((p.total for p in plans), default=0))
    lines = [title, f'{"strategy":<16} {"model states":>13} {"activations":>12} {"total":>9}  fits {gpu_mem:g} GiB',
             '-' * 66]
    for p in plans:
        fits = 'yes' if p.total <= gpu_mem * GiB else 'no'
        lines.append(f'{p.strategy:<16} {fmt_bytes(p.model_states, unit):>14} {fmt_bytes(p.activations, unit):>12} '
                     f'{fmt_bytes(p.total, unit):>10}  {fits}')
    return '\n'.join(lines)

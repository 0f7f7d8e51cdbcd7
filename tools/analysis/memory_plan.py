"""Per-GPU memory of a config's training under each strategy, and which fit.

    python tools/analysis/memory_plan.py CONFIG --gpus 8 [--nodes 1] [--gpu-mem 80] [--shape H W] [--batch B]
                                         [--precision bf16|fp32]

The model is built on the meta device (no memory), so 6B / 14B configs plan on any machine. Model states follow
DeepSpeed's accounting (tools/analysis/lib/memory.py); activations are measured from one meta forward pass of the
real model at the config's batch and resolution, with and without activation checkpointing.

For a config with adapters (``model.backbone.adapter``, LoRA / DoRA) it also prints LoRA against full tuning of the
same config (adapter removed) at 1 x 24 GiB, 1 x 80 GiB and 8 x 80 GiB, with and without checkpointing.
"""
import argparse
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402

from internvl_mm.errors import UserError  # noqa: E402
from internvl_mm.models.backbones.intern_vit import find_internvit  # noqa: E402
from tools.analysis.lib.memory import (GiB, byte_unit, deepspeed_estimates, fmt_bytes, fmt_params,  # noqa: E402
                                       format_plan, measure_activations, model_facts, plan)
from tools.cli import build_model, load_config, one_line_errors  # noqa: E402


def find_backbone(model):
    """The model's (first) InternViT: its input size, and what is measured when the whole model cannot run on
    the meta device."""
    found = find_internvit(model)
    if not found:
        raise UserError(f'{type(model).__name__} has no InternViT to plan activations for')
    return found[0][1]


def training_forward(model, images: torch.Tensor):
    """The forward whose saved tensors a training step keeps, and what it covers. A model that trains more than
    its image path (InternVL: the QLLaMA text tower too) says so with ``memory_planning_forward(images)``."""
    if getattr(model, 'memory_planning_forward', None) is not None:
        tokens = getattr(model, 'max_txt_len', None)
        detail = f'{tokens} caption tokens' if tokens else f'{type(model).__name__}.memory_planning_forward'
        return lambda: model.memory_planning_forward(images), f'image and text towers ({detail}), without the loss'
    return lambda: model(images, mode='tensor'), 'whole model (forward, without the loss)'


def build_on_meta(cfg):
    with torch.device('meta'):
        return build_model(cfg)


# (GPUs, GiB per GPU) of the PEFT comparison
PEFT_SETTINGS = ((1, 24.0), (1, 80.0), (8, 80.0))


def frozen_in_bf16(cfg) -> bool:
    """Whether the config keeps frozen backbone weights in bf16 (``BF16BackboneHook``)."""
    return any(h.get('type') == 'BF16BackboneHook' for h in cfg.get('custom_hooks', None) or [])


def measure(model, images, dtype_bytes):
    """Activations of one training forward of ``model`` (the backbone alone if the heads have no meta kernels)."""
    try:
        forward, scope = training_forward(model, images)
        return measure_activations(forward, model, images, dtype_bytes, scope)
    except (NotImplementedError, RuntimeError, TypeError, AttributeError, KeyError):
        backbone = find_backbone(model)
        return measure_activations(lambda: backbone(images), backbone, images, dtype_bytes,
                                   'backbone only (the heads have no meta kernels)')


# Strategies from the least to the most communication / host traffic: the first one that fits is the one to use.
PREFERENCE = ('DDP', 'ZeRO-1', 'ZeRO-2', 'FSDP', 'ZeRO-3', 'ZeRO-2 offload', 'ZeRO-3 offload')


def best_plan(facts, activations, gpus, gpu_mem, with_cp):
    """The first strategy of :data:`PREFERENCE` that fits ``gpu_mem``, else the smallest; and whether it fits."""
    plans = {p.strategy: p for p in plan(facts, activations, gpus, with_cp=with_cp)}
    fitting = [plans[name] for name in PREFERENCE if plans[name].total <= gpu_mem * GiB]
    if fitting:
        return fitting[0], True
    return min(plans.values(), key=lambda p: p.total), False


def print_peft_comparison(cfg, adapted_facts, adapted_acts, images, dtype_bytes, optimizer):
    full_cfg = copy.deepcopy(cfg)
    full_cfg.model.backbone.adapter = None
    full_model = build_on_meta(full_cfg)
    full_facts = model_facts(full_model, optimizer, frozen_in_bf16(full_cfg))
    full_acts = measure(full_model, images, dtype_bytes)
    print(f'adapters vs full tuning: {fmt_params(adapted_facts.trainable)} vs {fmt_params(full_facts.trainable)} '
          f'trainable parameters; per GPU, the first strategy that fits\n(in the order ' + ', '.join(PREFERENCE) + '), else the smallest:')
    header = f'{"GPUs":<12} {"checkpointing":<14} {"adapters":<32} {"full tuning":<32}'
    print(header + '\n' + '-' * len(header))
    for gpus, gpu_mem in PEFT_SETTINGS:
        for with_cp in (True, False):
            cells = []
            for facts, acts in ((adapted_facts, adapted_acts), (full_facts, full_acts)):
                best, fits = best_plan(facts, acts, gpus, gpu_mem, with_cp)
                cells.append(f'{best.strategy} {fmt_bytes(best.total, ("GiB", GiB))} {"fits" if fits else "no"}')
            print(f'{f"{gpus} x {gpu_mem:g} GiB":<12} {"on" if with_cp else "off":<14} {cells[0]:<32} {cells[1]:<32}')
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--gpus', type=int, default=8, help='GPUs per node')
    parser.add_argument('--nodes', type=int, default=1)
    parser.add_argument('--gpu-mem', type=float, default=80.0, help='GiB per GPU')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='training input size')
    parser.add_argument('--batch', type=int, help='images per GPU (default: the train dataloader\'s batch size)')
    parser.add_argument('--precision', choices=['bf16', 'fp32'], default='bf16')
    args = parser.parse_args()
    with one_line_errors('memory_plan'):
        cfg = load_config(args.config)
        model = build_on_meta(cfg)
        backbone = find_backbone(model)
        batch = args.batch or cfg.train_dataloader.batch_size
        size = args.shape or (backbone.img_size, backbone.img_size)
        optimizer = cfg.optim_wrapper.optimizer.type
        facts = model_facts(model, optimizer, frozen_in_bf16(cfg) and args.precision == 'bf16')
        images = torch.empty(batch, 3, *size, device='meta')
        dtype_bytes = 2 if args.precision == 'bf16' else 4
        activations = measure(model, images, dtype_bytes)
    ranks = args.gpus * args.nodes
    print(f'{args.config}\n{fmt_params(facts.params)} parameters, {fmt_params(facts.trainable)} trainable, '
          f'{optimizer} ({facts.optimizer_states} states), {args.precision}, {args.gpus} GPU(s) x {args.nodes} '
          f'node(s), batch {batch} x {size[0]}x{size[1]} per GPU')
    unit = byte_unit(activations.saved)
    print(f'activations per GPU ({activations.scope}): {fmt_bytes(activations.saved, unit)}, '
          f'{fmt_bytes(activations.saved_with_cp, unit)} with every transformer block checkpointed\n')
    mixed = args.precision == 'bf16'
    for with_cp in (True, False):
        plans = plan(facts, activations, args.gpus, args.nodes, mixed_precision=mixed, with_cp=with_cp)
        print(format_plan(f'with activation checkpointing: {"on" if with_cp else "off"}', plans, args.gpu_mem))
        print()
    if mixed:
        print('DeepSpeed\'s estimators (all parameters trainable, Adam), model states per GPU:')
        estimates = deepspeed_estimates(facts, args.gpus, args.nodes)
        unit = byte_unit(max(estimates.values()))
        for name, value in estimates.items():
            print(f'  {name:<15} {fmt_bytes(value, unit):>12}')
    if backbone.adapter:
        with one_line_errors('memory_plan'):
            print_peft_comparison(cfg, facts, activations, images, dtype_bytes, optimizer)
    print(f'({ranks} rank{"s" if ranks != 1 else ""}; model states exclude framework buffers and the CUDA context, '
          f'~1-3 GiB per GPU)')


if __name__ == '__main__':
    main()

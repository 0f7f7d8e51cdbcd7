"""Per-GPU memory of a config's training under each strategy, and which fit.

    python tools/analysis/memory_plan.py CONFIG --gpus 8 [--nodes 1] [--gpu-mem 80] [--shape H W] [--batch B]
                                         [--precision bf16|fp32]

The model is built on the meta device (no memory), so 6B / 14B configs plan on any machine. Model states follow
DeepSpeed's accounting (internvl_mm/analysis/memory.py); activations are measured from one meta forward pass of the
real model at the config's batch and resolution, with and without activation checkpointing.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from internvl_mm.analysis.memory import (GiB, deepspeed_estimates, format_plan, measure_activations,  # noqa: E402
                                         model_facts, plan)
from internvl_mm.engine.runner import UserError, load_config, one_line_errors  # noqa: E402
from internvl_mm.registry import MODELS  # noqa: E402


def find_backbone(model):
    backbone = getattr(model, 'backbone', None) or getattr(model, 'vision_model', None)
    if backbone is None:
        raise UserError(f'{type(model).__name__} has no backbone / vision_model to plan activations for')
    return backbone


def training_forward(model, images: torch.Tensor):
    """The forward whose saved tensors a training step keeps. InternVL trains its text tower too: the image
    tower plus a causal QLLaMA pass over max_txt_len caption tokens per image (stage 1's ITC)."""
    if hasattr(model, 'encode_text'):
        from internvl_mm.models.language.qllama import build_attention_mask
        ids = torch.ones(images.shape[0], model.max_txt_len, dtype=torch.long, device=images.device)
        mask = build_attention_mask('text', 0, torch.ones_like(ids, dtype=torch.bool))
        return (lambda: (model.encode_image(images), model.qllama(ids, attention_mask=mask)),
                f'image and text towers ({model.max_txt_len} caption tokens), without the loss')
    return lambda: model(images, mode='tensor'), 'whole model (forward, without the loss)'


def build_on_meta(cfg):
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with torch.device('meta'):
        return MODELS.build(model_cfg)


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
        facts = model_facts(model, optimizer)
        images = torch.empty(batch, 3, *size, device='meta')
        dtype_bytes = 2 if args.precision == 'bf16' else 4
        try:
            forward, scope = training_forward(model, images)
            activations = measure_activations(forward, model, images, dtype_bytes, scope)
        except (NotImplementedError, RuntimeError, TypeError, AttributeError, KeyError):
            activations = measure_activations(lambda: backbone(images), backbone, images, dtype_bytes,
                                              'backbone only (the heads have no meta kernels)')
    ranks = args.gpus * args.nodes
    print(f'{args.config}\n{facts.params / 1e9:.2f}B parameters, {facts.trainable / 1e9:.2f}B trainable, '
          f'{optimizer} ({facts.optimizer_states} states), {args.precision}, {args.gpus} GPU(s) x {args.nodes} '
          f'node(s), batch {batch} x {size[0]}x{size[1]} per GPU')
    print(f'activations per GPU ({activations.scope}): {activations.saved / GiB:.1f} GiB, '
          f'{activations.saved_with_cp / GiB:.1f} GiB with every transformer block checkpointed\n')
    mixed = args.precision == 'bf16'
    for with_cp in (True, False):
        plans = plan(facts, activations, args.gpus, args.nodes, mixed_precision=mixed, with_cp=with_cp)
        print(format_plan(f'with activation checkpointing: {"on" if with_cp else "off"}', plans, args.gpu_mem))
        print()
    if mixed:
        print('DeepSpeed\'s estimators (all parameters trainable, Adam), model states per GPU:')
        for name, value in deepspeed_estimates(facts, args.gpus, args.nodes).items():
            print(f'  {name:<15} {value / GiB:8.1f} GiB')
    print(f'({ranks} ranks; model states exclude framework buffers and the CUDA context, ~1-3 GiB per GPU)')


if __name__ == '__main__':
    main()

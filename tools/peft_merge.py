"""Merge a LoRA / DoRA checkpoint's adapters into its base weights: one plain checkpoint, no adapters, same outputs.

    python tools/peft_merge.py CONFIG CHECKPOINT OUT_FILE

CHECKPOINT is an adapter checkpoint of CONFIG (adapters + head, with the pointer to its base weights, which must
be reachable and unchanged). OUT_FILE is an mmengine-style checkpoint in parameter names for the same config
without the adapter: test it with ``tools/test.py CONFIG OUT_FILE --cfg-options model.backbone.adapter=None``, or
write the release layout with ``tools/export_release.py`` (which merges by itself).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.engine.checkpoints import load_checkpoint_strict  # noqa: E402
from internvl_mm.errors import CheckpointError, ConfigError  # noqa: E402
from internvl_mm.files import atomic_write  # noqa: E402
from internvl_mm.models import find_internvit  # noqa: E402
from tools.cli import build_model, load_config, one_line_errors  # noqa: E402


def merge_all_adapters(model: torch.nn.Module) -> int:
    """Merge the adapters of every InternViT in ``model``; returns the number of layers merged."""
    return sum(vit.merge_adapters() for _, vit in find_internvit(model) if vit.adapter)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_file')
    args = parser.parse_args()
    with one_line_errors('peft_merge'):
        if osp.realpath(args.out_file) == osp.realpath(args.checkpoint):
            raise CheckpointError(f'{args.out_file} is the adapter checkpoint itself; write the merged one elsewhere')
        cfg = load_config(args.config)
        model = build_model(cfg)
        load_checkpoint_strict(model, args.checkpoint)
        merged = merge_all_adapters(model)
        if not merged:
            raise ConfigError(f'{args.config} has no adapters (model.backbone.adapter) to merge')
        state = {k: v.detach().float() if v.is_floating_point() else v.detach() for k, v in model.state_dict().items()}
        with atomic_write(args.out_file) as f:
            torch.save({'state_dict': state, 'meta': {'merged_from': osp.abspath(args.checkpoint)}}, f)
    print(f'merged the adapters of {merged} layers; wrote {len(state)} tensors to {args.out_file}')


if __name__ == '__main__':
    main()

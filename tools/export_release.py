"""Write a trained model's weights in the official Hugging Face release layout (safetensors shards + index).

    python tools/export_release.py CONFIG CHECKPOINT OUT_DIR [--max-shard-size 5GB]

CHECKPOINT is anything tools/test.py reads (a checkpoint of any strategy, a consolidated file, a release folder).
An InternVL-C/G model is written as a whole, in the InternVL-14B-224px layout; any other model (a classifier,
segmentor or detector) has its InternViT written in the InternViT-6B / 300M release layout, which ``init_cfg``,
``load_from`` and the official code read; adapters (LoRA / DoRA) are merged into the weights first. Checkpoints themselves always stay in parameter names: this is the one
place where the release layout is written.
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
from internvl_mm.models import find_internvit  # noqa: E402
from internvl_mm.weights import save_safetensors_shards  # noqa: E402
from tools.cli import build_model, load_config, one_line_errors  # noqa: E402
from tools.peft_merge import merge_all_adapters  # noqa: E402

UNITS = {'KB': 1e3, 'MB': 1e6, 'GB': 1e9}


def parse_size(text: str) -> int:
    for unit, factor in UNITS.items():
        if text.upper().endswith(unit):
            return int(float(text[:-len(unit)]) * factor)
    return int(text)


def release_weights(model: torch.nn.Module) -> dict:
    """The model's own release layout if it has one (InternVL), else its InternViT's."""
    if hasattr(model, 'release_state_dict'):
        return model.release_state_dict()
    found = find_internvit(model)
    if not found:
        raise ConfigError(f'{type(model).__name__} contains no InternViT to export')
    return found[0][1].release_state_dict()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir', help='the release folder to write (must not hold the checkpoint)')
    parser.add_argument('--max-shard-size', default='5GB', help='largest shard, e.g. 5GB or 500MB (default 5GB)')
    args = parser.parse_args()
    with one_line_errors('export_release'):
        source, out = osp.realpath(args.checkpoint), osp.realpath(args.out_dir)
        if out == source or source.startswith(out + os.sep):
            raise CheckpointError(f'{args.out_dir} holds the checkpoint it would be written from; choose another '
                                  f'output folder')
        cfg = load_config(args.config)
        model = build_model(cfg)
        load_checkpoint_strict(model, args.checkpoint)
        merge_all_adapters(model)  # a release holds plain weights
        weights = {k: v.detach().contiguous() for k, v in release_weights(model).items()}
        names = save_safetensors_shards(weights, args.out_dir, parse_size(args.max_shard_size))
    print(f'wrote {len(weights)} tensors in {len(names)} shard(s) to {args.out_dir}')


if __name__ == '__main__':
    main()

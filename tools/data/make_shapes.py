"""Generate the embedded shapes datasets (deterministic; an identical existing copy is kept as it is).

    python tools/data/make_shapes.py [--root data/shapes] [--tasks cls seg det caption] [--seed 0]
                                     [--num-train N] [--num-val N] [--size PX]

Each task is written in its toolbox's real on-disk format (see projects/shapes_demo/shapes/formats.py):
``cls`` ImageNet-style class folders + annotation files, ``seg`` ADE20K-style images + label PNGs, ``det`` COCO
instances json with polygon masks, ``caption`` image-caption JSONL + the tokenizer trained on the captions.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.shapes_demo.shapes import DEFAULTS, ensure_shapes_dataset  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=osp.join('data', 'shapes'))
    parser.add_argument('--tasks', nargs='+', choices=sorted(DEFAULTS), default=list(DEFAULTS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, help='training samples (default: each task\'s own)')
    parser.add_argument('--num-val', type=int, help='held-out samples (default: each task\'s own)')
    parser.add_argument('--size', type=int, help='image side in pixels (default: each task\'s own)')
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in dict(num_train=args.num_train, num_val=args.num_val, size=args.size).items()
                 if v is not None}
    for task in args.tasks:
        start = time.time()
        folder, generated = ensure_shapes_dataset(args.root, task, args.seed, **overrides)
        state = f'generated in {time.time() - start:.1f} s' if generated else 'already there (same parameters)'
        print(f'{task:<8} {folder}: {state}')


if __name__ == '__main__':
    main()

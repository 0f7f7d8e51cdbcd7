"""Image features of a folder (or list file) of images, into resumable shards.

    python tools/extract_features.py internvit-6b-224px data/images --out work_dirs/features
    python tools/extract_features.py internvl-c-14b data/images --out work_dirs/clip-features --batch-size 64
    python tools/extract_features.py CONFIG.py data/images --out DIR --checkpoint work_dirs/x/epoch_9.pth

NAME is a zoo name (its weights are fetched), ``internvl-c-14b`` / ``internvl-g-14b`` (InternVL's normalised image
embeddings), or an arch preset with ``--checkpoint``; CONFIG is a config file (its InternVL, or its InternViT
backbone) with ``--checkpoint`` unless the config names its weights. InternViT features are the cls token
(``--pool avg``: the mean patch token; ``cls_patch_concat``: both; ``none``: all final tokens), or for a task
config the feature its head reads. The output folder holds ``index.json``
and ``features-NNNNN.safetensors`` shards of ``--shard-size`` images; each is written atomically, so running the
same command again after an interruption skips the finished shards. ``internvl_mm.apis.load_features(DIR)``
reads the result: (image names, features).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from tools.cli import one_line_errors  # noqa: E402

POOLS = {'token': 'token', 'avg': 'avg', 'cls_patch_concat': 'cls_patch_concat', 'none': ''}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Extract image features into resumable shards')
    parser.add_argument('model', help='a zoo name, internvl-c-14b / internvl-g-14b, an arch preset, or a config file')
    parser.add_argument('images', help='a folder of images (searched recursively) or a file listing image paths')
    parser.add_argument('--out', required=True, help='output folder (index.json + safetensors shards)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--shard-size', type=int, default=1024, help='images per output shard')
    parser.add_argument('--checkpoint', help='weights to load (any layout the models read); default: the zoo '
                        "release of a zoo name, the config's own init_cfg")
    parser.add_argument('--pool', choices=sorted(POOLS), help='InternViT feature: cls token (the default for '
                        'a name), mean patch token, both concatenated or all tokens; a task config defaults to the '
                        "feature its head reads (its backbone's out_type). Not for InternVL, whose embedding is "
                        'pooled')
    parser.add_argument('--workers', type=int, default=0, help='processes decoding the images (default: 0, '
                        'decode in this one)')
    parser.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def build(args):
    from internvl_mm.apis import create_model_and_transforms
    from internvl_mm.apis.factory import internvl_name, resolve_name
    from internvl_mm.errors import ConfigError
    name = args.model
    kwargs = {}
    if name.endswith('.py'):
        pretrained = args.checkpoint or False
    elif internvl_name(name):
        pretrained = args.checkpoint or True
    else:
        zoo, _ = resolve_name(name)
        if zoo is None and not args.checkpoint:
            raise ConfigError(f'{name!r} is an architecture preset without released weights: pass --checkpoint, or '
                              f'use a zoo name (python tools/download.py list)')
        pretrained = args.checkpoint or True
    if args.pool is not None:
        if internvl_name(name):
            raise ConfigError(f'--pool applies to InternViT features, not to the embeddings of {name}')
        kwargs['global_pool'] = POOLS[args.pool]
    try:
        model, preprocess = create_model_and_transforms(name, pretrained=pretrained, **kwargs)
    except ConfigError as e:
        if name.endswith('.py') and 'global_pool' in kwargs and 'global_pool' in str(e):
            raise ConfigError(f'--pool applies to InternViT features, not to the InternVL of {name}') from e
        raise
    if not model.pretrained_cfg.get('file'):
        raise ConfigError(f'{name} names no weights (its features would be those of a random model): pass '
                          f'--checkpoint')
    return model, preprocess


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors('extract_features'):
        import torch
        from internvl_mm.apis import extract_features
        model, preprocess = build(args)
        device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
        model_id = f'{args.model}|checkpoint={args.checkpoint}|pool={args.pool}'
        index = extract_features(model, preprocess, args.images, args.out, model_id=model_id,
                                 batch_size=args.batch_size, shard_size=args.shard_size, device=device,
                                 workers=args.workers, progress=not args.no_progress)
        print(f'{index["num_images"]} images -> {len(index["shards"])} shards in {os.path.abspath(args.out)}')


if __name__ == '__main__':
    main()

"""The whole config after inheritance and --cfg-options, as mmpretrain's / mmseg's / mmdet's print_config.py show it.

    python tools/analysis/print_config.py CONFIG [--cfg-options k=v ...] [--out FILE.py]

mmengine's ``Config.pretty_text`` prints it; ``--out`` writes it as one self-contained config file
(``Config.dump``). Overrides are validated (a misspelt key is a one-line error, as in tools/train.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tools.cli import load_config, one_line_errors  # noqa: E402


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Print the whole config (inheritance and overrides resolved)')
    parser.add_argument('config', help='config file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. model.backbone.arch=tiny')
    parser.add_argument('--out', help='also write the resolved config to this .py file')
    return parser.parse_args()


def main():
    args = parse_args()
    with one_line_errors('print_config'):
        cfg = load_config(args.config, args.cfg_options)
        cfg.pop('launcher', None)
        print(f'Config:\n{cfg.pretty_text}')
        if args.out:
            cfg.dump(args.out)
            print(f'written to {args.out}')


if __name__ == '__main__':
    main()

"""Evaluate a checkpoint with an internvl_mm config, ending in the toolbox's own metric.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl] [--show-dir DIR] [--show]
                                           [--wait-time S] [--interval N] [--tta]
                                           [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

CHECKPOINT is what tools/train.py wrote under any strategy (a DeepSpeed ZeRO folder is consolidated on the fly),
a consolidated file, or a ``zoo://`` name. It must fit the model exactly: missing keys or other shapes are an error,
never a silent partial load. Configs that train with DeepSpeed or FSDP are evaluated with the plain runner.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmengine.model import is_model_wrapper  # noqa: E402

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from internvl_mm.engine.checkpoints import load_checkpoint_strict  # noqa: E402
from tools.cli import (add_common_arguments, build_runner, load_config, merge_toolbox_visualization,  # noqa: E402
                       one_line_errors, parse_tool_args, release_process_group, use_plain_runner)


def parse_args():
    # allow_abbrev=False: no prefix matching, so a flag the tool lacks is an error, never another flag (--show was
    # once taken as --show-dir)
    parser = argparse.ArgumentParser(description='Test a checkpoint with an internvl_mm config', allow_abbrev=False)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file, release folder or zoo:// name')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--show-dir', help='write visualised predictions to this folder')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each --show window stays (default 2)')
    parser.add_argument('--interval', type=int, default=1,
                        help='--show / --show-dir: draw every N-th test image (default 1: all)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model over its tta_pipeline")
    add_common_arguments(parser)
    return parse_tool_args(parser)


def use_tta(cfg):
    """The toolboxes' --tta: the config's tta_model wraps its model, its tta_pipeline replaces the test pipeline."""
    if not cfg.get('tta_model') or not cfg.get('tta_pipeline'):
        raise ConfigError('--tta: this config has no tta_model and tta_pipeline (the segmentation configs inherit '
                          'them from configs/_base_/tasks/segmentation.py)')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main():
    args = parse_args()
    with one_line_errors('test'):
        cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
        cfg.load_from = None  # loaded strictly below, not by mmengine's lenient loader
        use_plain_runner(cfg)
        if args.show_dir or args.show:
            merge_toolbox_visualization(cfg, args.show_dir, args.show, args.wait_time, args.interval)
        if args.tta:
            use_tta(cfg)
        if args.out:
            cfg.test_evaluator = [*(cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                                    else [cfg.test_evaluator]), dict(type='DumpResults', out_file_path=args.out)]
        runner = build_runner(cfg, loaders=('test_dataloader', ))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        load_checkpoint_strict(model.module if args.tta else model, args.checkpoint)
        metrics = runner.test()
        release_process_group()
    print(' '.join(f'{k}={float(v):.4f}' if isinstance(v, (int, float)) or hasattr(v, 'dtype') else f'{k}={v}'
                   for k, v in metrics.items()))


if __name__ == '__main__':
    main()

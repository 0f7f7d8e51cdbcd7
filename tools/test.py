"""Evaluate a checkpoint with an internvl_mm config, ending in the toolbox's own metric.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl] [--show-dir DIR]
                                           [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

CHECKPOINT is what tools/train.py wrote under any strategy (a DeepSpeed ZeRO folder is consolidated on the fly),
a consolidated file, or a ``zoo://`` name. It must fit the model exactly: missing keys or other shapes are an error,
never a silent partial load. Configs that train with DeepSpeed or FSDP are evaluated with the plain runner.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.engine.checkpoints import load_checkpoint_strict  # noqa: E402
from tools.cli import (add_common_arguments, build_runner, load_config, merge_toolbox_visualization,  # noqa: E402
                       one_line_errors, parse_tool_args, release_process_group, use_plain_runner)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint with an internvl_mm config')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file, release folder or zoo:// name')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--show-dir', help='write visualised predictions to this folder')
    add_common_arguments(parser)
    return parse_tool_args(parser)


def main():
    args = parse_args()
    with one_line_errors('test'):
        cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
        cfg.load_from = None  # loaded strictly below, not by mmengine's lenient loader
        use_plain_runner(cfg)
        if args.show_dir:
            merge_toolbox_visualization(cfg, args.show_dir)
        if args.out:
            cfg.test_evaluator = [*(cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                                    else [cfg.test_evaluator]), dict(type='DumpResults', out_file_path=args.out)]
        runner = build_runner(cfg)
        load_checkpoint_strict(runner.model, args.checkpoint)
        metrics = runner.test()
        release_process_group()
    print(' '.join(f'{k}={float(v):.4f}' if isinstance(v, (int, float)) or hasattr(v, 'dtype') else f'{k}={v}'
                   for k, v in metrics.items()))


if __name__ == '__main__':
    main()

"""Train any internvl_mm config (classification, segmentation, detection, pretraining) with mmengine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

``runner_type`` in the config selects mmengine's FlexibleRunner (DeepSpeed / FSDP strategies); otherwise the plain
Runner (single process or DDP). Mistakes in the command or the config are reported in one line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from tools.cli import (add_common_arguments, build_runner, load_config, one_line_errors, parse_tool_args,  # noqa: E402
                       release_process_group)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model with an internvl_mm config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no CKPT is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA only)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly from the config\'s auto_scale_lr.base_batch_size '
                             'to the actual total batch (GPUs x samples per GPU)')
    add_common_arguments(parser)
    return parse_tool_args(parser)


def main():
    args = parse_args()
    with one_line_errors('train'):
        cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
        if args.amp and cfg.get('strategy'):
            raise ConfigError(f'--amp: this config trains with {cfg.strategy.get("type")}, whose precision its '
                            f'strategy include sets (bf16 / fp16); drop --amp')
        if args.amp:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if args.auto_scale_lr:
            if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
                raise ConfigError('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size (the batch its '
                                'learning rate was set for)')
            cfg.auto_scale_lr.enable = True
        if args.resume == 'auto':
            cfg.resume, cfg.load_from = True, None
        elif args.resume is not None:
            cfg.resume, cfg.load_from = True, args.resume
        runner = build_runner(cfg)
        runner.train()
        release_process_group()


if __name__ == '__main__':
    main()

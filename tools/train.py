"""Train any internvl_mm config (classification, segmentation, detection, pretraining) with mmengine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT] | --resume-if-present] [--amp]
                                 [--auto-scale-lr] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Checkpoints are never lost to a new run: without --resume, the checkpoints an earlier run left in the work dir are
moved into a ``superseded_<time>`` folder there. --resume skips (and names) checkpoints that an interrupted save
left incomplete.

``runner_type`` in the config selects mmengine's FlexibleRunner (DeepSpeed / FSDP strategies); otherwise the plain
Runner (single process or DDP). Mistakes in the command or the config are reported in one line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from tools.cli import (add_common_arguments, build_runner, choose_resume_checkpoint, load_config,  # noqa: E402
                       one_line_errors, parse_tool_args, release_process_group, set_aside_previous_run)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model with an internvl_mm config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the newest complete checkpoint in the work dir when no CKPT '
                             'is given (an error if there is none)')
    parser.add_argument('--resume-if-present', action='store_true',
                        help='resume like --resume when the work dir holds a checkpoint, else train from scratch')
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
        if args.resume is not None or args.resume_if_present:
            requested = None if args.resume in (None, 'auto') else args.resume
            checkpoint = choose_resume_checkpoint(cfg.work_dir, requested, if_present=args.resume is None)
            if checkpoint is not None:
                cfg.resume, cfg.load_from = True, checkpoint
        if not cfg.get('resume') and int(os.environ.get('RANK', 0)) == 0:
            moved = set_aside_previous_run(cfg.work_dir, keep=cfg.get('load_from'))
            if moved:
                print(f'train: {cfg.work_dir} held an earlier run\'s checkpoints; moved them to {moved} (pass '
                      f'--resume to continue a run instead)', file=sys.stderr)
        runner = build_runner(cfg)
        runner.train()
        release_process_group()


if __name__ == '__main__':
    main()

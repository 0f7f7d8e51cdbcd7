"""Command-line glue of the tools (not library code): argument parsing in OpenMMLab's spelling, config loading
with validated overrides, runner selection, and the project's user errors printed as one clear line."""
import argparse
import difflib
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, Optional

import torch
from mmengine.config import Config, ConfigDict

from internvl_mm.errors import ConfigError, UserError

DEBUG_ENV = 'INTERNVL_MM_DEBUG'

# What the tools report as one line (INTERNVL_MM_DEBUG=1 shows the traceback): the project's error family, which
# configs, checkpoints and the zoo raise. Anything else is a bug and keeps its traceback.
ONE_LINE_ERRORS = (UserError, )


@contextmanager
def one_line_errors(tool: str):
    try:
        yield
    except ONE_LINE_ERRORS as e:
        if os.environ.get(DEBUG_ENV):
            raise
        message = str(e).strip() or type(e).__name__
        print(f'{tool}: error: {message.splitlines()[0] if len(message) < 2000 else message[:2000]}'
              f'  [{type(e).__name__}; {DEBUG_ENV}=1 shows the traceback]', file=sys.stderr)
        sys.exit(1)


def release_process_group():
    """Tear the process group down once a tool's work is done: gloo's threads still running while the interpreter
    exits can abort a finished rank ("terminate called without an active exception"). No barrier: a rank that
    failed never gets here, and the others must not wait for it."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def add_common_arguments(parser: argparse.ArgumentParser):
    """The options tools/train.py and tools/test.py share, in OpenMMLab's spelling."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go (default: work_dirs/<config>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. train_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def validate_cfg_options(cfg: Config, options: Dict[str, object]):
    """Reject ``--cfg-options`` keys that look like typos of existing keys, or index past a list's end.

    New keys are allowed (configs do not spell out every default), unless one is a near miss of a key that
    exists at the same place: ``model.backbone.arhc`` fails with "did you mean 'arch'?".
    """
    for key in options:
        node, path = cfg.to_dict(), []
        for part in key.split('.'):
            where = '.'.join(path) or '<config root>'
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f'--cfg-options {key}: {where} is a list of {len(node)} items; '
                                    f'"{part}" is not a valid index')
                node = node[int(part)]
            elif isinstance(node, dict):
                if part not in node:
                    close = difflib.get_close_matches(part, [str(k) for k in node], n=1, cutoff=0.75)
                    if close:
                        raise ConfigError(f'--cfg-options {key}: {where} has no key "{part}"; did you mean '
                                        f'"{close[0]}"?')
                    break
                node = node[part]
            else:
                raise ConfigError(f'--cfg-options {key}: {where} is a {type(node).__name__}, not a dict')
            path.append(part)


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config, apply validated overrides, and set launcher and work_dir (default work_dirs/<name>)."""
    if not osp.isfile(path):
        raise ConfigError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files ...
        raise ConfigError(f'config {path} can not be read: {type(e).__name__}: {e}') from e
    if cfg_options:
        validate_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def check_device_features(cfg: Config):
    """Fail early, with the fix, when the run's settings ask for a GPU-only feature on a machine without CUDA (the
    strategies check their own precision rules when they are built)."""
    if torch.cuda.is_available():
        return
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') == 'AmpOptimWrapper':
        raise ConfigError('mixed precision (--amp / AmpOptimWrapper) needs a CUDA GPU and none is available; '
                        'train in fp32 on CPU (drop --amp)')
    if cfg.get('sync_bn') and cfg.launcher != 'none':
        raise ConfigError("sync_bn='torch' needs CUDA GPUs (SyncBatchNorm does not run on CPU); pass "
                        '--cfg-options sync_bn=None for CPU ranks')


# Hooks every run of the tools gets without configs repeating them: an evaluation progress bar, the random
# generator states saved in checkpoints so that a resumed run continues exactly, and peak memory in CPU logs.
TOOL_HOOKS = ('EvalProgressHook', 'RandomStateHook', 'PeakMemoryHook')


def add_tool_hooks(cfg: Config):
    hooks = list(cfg.get('custom_hooks') or [])
    present = {h.get('type') for h in hooks if isinstance(h, dict)}
    cfg.custom_hooks = hooks + [dict(type=t) for t in TOOL_HOOKS if t not in present]


def build_runner(cfg: Config):
    """``FlexibleRunner`` when the config sets ``runner_type`` (DeepSpeed / FSDP strategies), else ``Runner``."""
    check_device_features(cfg)
    add_tool_hooks(cfg)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    try:
        return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    except (TypeError, KeyError, ValueError) as e:  # the registry's "class X: ..." for a config it can not build
        if isinstance(e, UserError):
            raise
        message = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        raise ConfigError(f'the config can not be built: {message}') from e


def use_plain_runner(cfg: Config) -> bool:
    """Evaluate with mmengine's Runner even if the config trains with a sharded strategy (evaluation needs no
    sharding, and the plain runner reads consolidated checkpoints). Returns whether the config was changed."""
    if cfg.get('runner_type') in (None, 'Runner'):
        return False
    for key in ('runner_type', 'strategy'):
        cfg.pop(key, None)
    if 'optim_wrapper' in cfg:
        cfg.optim_wrapper.type = 'OptimWrapper'
    return True


def merge_toolbox_visualization(cfg: Config, show_dir: str):
    """Turn on the toolbox's visualization hook (mmpretrain, mmseg or mmdet flavour) to write predictions."""
    hook = cfg.default_hooks.get('visualization') if 'default_hooks' in cfg else None
    if hook is None:
        raise ConfigError('--show-dir: this config has no default_hooks.visualization to draw predictions with')
    kind = hook['type']
    if kind == 'VisualizationHook':  # mmpretrain
        hook.update(enable=True, out_dir=show_dir)
    elif kind == 'SegVisualizationHook':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir
    elif kind == 'DetVisualizationHook':
        hook.update(draw=True, test_out_dir=osp.abspath(show_dir))
    else:
        raise ConfigError(f'--show-dir does not know the visualization hook {kind}')
    if isinstance(hook, ConfigDict):
        cfg.default_hooks['visualization'] = hook

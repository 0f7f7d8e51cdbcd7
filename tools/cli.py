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
        print(f'{tool}: error: {error_line(e)}  [{type(e).__name__}; {DEBUG_ENV}=1 shows the traceback]',
              file=sys.stderr)
        sys.exit(1)


def error_line(error: BaseException) -> str:
    """The one line that says what went wrong. An error re-raised from a data-loader worker carries the worker's
    traceback in its message; its last line is the original error."""
    message = str(error).strip() or type(error).__name__
    lines = [ln for ln in message.splitlines() if ln.strip()]
    if 'Original Traceback' in message and lines:
        last = lines[-1]
        prefix = f'{type(error).__module__}.{type(error).__name__}: '
        return last[len(prefix):] if last.startswith(prefix) else last.split(': ', 1)[-1]
    return lines[0][:2000] if lines else message


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
    # mim train/test pass `--gpus N` (or `--device cpu` to tools without --gpus) in a non-distributed run.
    parser.add_argument('--gpus', type=int, default=None,
                        help='non-distributed run: 0 runs on the CPU, otherwise the visible GPU (what mim passes)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='cpu: run on the CPU even where a GPU is visible')


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.device == 'cpu' or args.gpus == 0:
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # before anything initialises CUDA
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
    if launcher == 'pytorch' and not {'RANK', 'WORLD_SIZE', 'MASTER_ADDR'} <= set(os.environ):
        raise ConfigError('--launcher pytorch needs the environment torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR); '
                          'start the job with tools/dist_train.sh / dist_test.sh or torchrun, or drop --launcher')
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


def check_work_dir(work_dir: str) -> None:
    """Fail early, naming the option, when the work dir can not be a writable folder."""
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise ConfigError(f'work dir {work_dir} is a file, not a folder; choose another --work-dir')
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as e:
        raise ConfigError(f'work dir {work_dir} can not be created ({e.strerror}); choose another --work-dir') from e
    if not os.access(work_dir, os.W_OK):
        raise ConfigError(f'work dir {work_dir} is not writable; choose another --work-dir')


def check_data_roots(cfg: Config, loaders) -> None:
    """Fail early, naming the option, when a dataset root of the loaders the run uses does not exist (mmengine would
    fail later, deep in a data-loader worker)."""
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        root = dataset.get('data_root')
        if isinstance(root, str) and root and not osp.isdir(root):
            raise ConfigError(f'{loader}.dataset.data_root {root} does not exist; prepare the data (the config\'s '
                              f'README says how; the demo data: python tools/data/make_shapes.py) or pass '
                              f'--cfg-options {loader}.dataset.data_root=PATH')


def build_runner(cfg: Config, loaders=('train_dataloader', 'val_dataloader')):
    """``FlexibleRunner`` when the config sets ``runner_type`` (DeepSpeed / FSDP strategies), else ``Runner``;
    ``loaders`` are the dataloaders the run will use (their data must exist)."""
    check_device_features(cfg)
    check_work_dir(cfg.work_dir)
    add_tool_hooks(cfg)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if cfg.get('runner_type') and cfg.get('strategy'):
        from internvl_mm.engine.strategies import single_process_launcher
        cfg.launcher = single_process_launcher(cfg.launcher)
    try:
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    except (TypeError, KeyError, ValueError) as e:  # the registry's "class X: ..." for a config it can not build
        if isinstance(e, UserError):
            raise
        message = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        raise ConfigError(f'the config can not be built: {message}') from e
    check_data_roots(cfg, loaders)  # the runner builds its loaders lazily: still before any data is read
    return runner


def build_model(cfg: Config):
    """The config's model alone, built in the config's scope with its top-level ``data_preprocessor`` (mmpretrain's
    convention), as the runner would build it; a model the registry can not build is a ConfigError."""
    from mmengine.registry import init_default_scope

    from internvl_mm.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    try:
        return MODELS.build(model_cfg)
    except (TypeError, KeyError, ValueError) as e:  # the registry's "class X: ..." for a model it can not build
        if isinstance(e, UserError):
            raise
        raise ConfigError(f'the model can not be built: {e}') from e


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


def merge_toolbox_visualization(cfg: Config, show_dir: Optional[str] = None, show: bool = False,
                                wait_time: float = 2., interval: int = 1):
    """Turn on the toolbox's visualization hook (mmpretrain, mmseg or mmdet flavour) to write predictions into
    ``show_dir`` and/or ``show`` them in a window (``wait_time`` seconds each), every ``interval``-th test image.

    mmpretrain's hook counts samples itself; mmseg's counts batches and mmdet's draws every test image, so those
    two get a subclass that hands the hook only every ``interval``-th image of the run (the toolboxes' test.py
    leave the hook's own defaults there)."""
    hook = cfg.default_hooks.get('visualization') if 'default_hooks' in cfg else None
    flag = '--show-dir' if show_dir else '--show'
    if hook is None:
        raise ConfigError(f'{flag}: this config has no default_hooks.visualization to draw predictions with')
    if interval < 1:
        raise ConfigError(f'--interval must be at least 1, got {interval}')
    kind = hook['type']
    if kind == 'VisualizationHook':  # mmpretrain
        hook.update(enable=True, interval=interval, show=show, wait_time=wait_time)
        if show_dir:
            hook.update(out_dir=show_dir)
    elif kind in ('SegVisualizationHook', 'DetVisualizationHook'):
        hook.update(type=_every_nth_image_hook(kind), draw=True, interval=1, every=interval, show=show,
                    wait_time=wait_time)
        if kind == 'SegVisualizationHook':
            if show_dir:
                cfg.visualizer['save_dir'] = show_dir
        elif show_dir:
            hook.update(test_out_dir=osp.abspath(show_dir))
    else:
        raise ConfigError(f'{flag} does not know the visualization hook {kind}')
    if isinstance(hook, ConfigDict):
        cfg.default_hooks['visualization'] = hook


def _every_nth_image_hook(kind: str) -> str:
    """Registers (once) ``kind`` subclassed to draw every ``every``-th test image; returns the registered name."""
    from mmengine.registry import HOOKS
    name = f'EveryNth{kind}'
    if HOOKS.get(name) is None:
        if kind == 'SegVisualizationHook':
            from mmseg.engine.hooks import SegVisualizationHook as base
        else:
            from mmdet.engine.hooks import DetVisualizationHook as base

        def __init__(self, every: int = 1, **kwargs):
            base.__init__(self, **kwargs)
            self.every, self.seen = every, 0

        def after_test_iter(self, runner, batch_idx, data_batch, outputs):
            first, self.seen = self.seen, self.seen + len(outputs)
            chosen = [o for i, o in enumerate(outputs, start=first) if i % self.every == 0]
            if chosen:
                base.after_test_iter(self, runner, batch_idx, data_batch, chosen)

        HOOKS.register_module(name=name, module=type(name, (base, ), dict(__init__=__init__,
                                                                          after_test_iter=after_test_iter)))
    return name


# -- resuming and previous runs ------------------------------------------------------------------------------------
LAST_CHECKPOINT = 'last_checkpoint'


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` can not be resumed from, or None if it is complete; checked from the files' zip directories
    (torch.save writes a zip whose directory comes last), nothing is unpickled."""
    import glob
    import zipfile
    if osp.isdir(path):  # a DeepSpeed checkpoint folder
        files = sorted(glob.glob(osp.join(path, '*.pt')))
        if not any(f.endswith('model_states.pt') for f in files):
            return 'a folder without DeepSpeed model states'
        broken = [f for f in files if not zipfile.is_zipfile(f)]
        return f'{osp.basename(broken[0])} is truncated' if broken else None
    if not osp.isfile(path):
        return 'it does not exist'
    if not zipfile.is_zipfile(path):
        return 'it is truncated (an interrupted save?) or not a torch checkpoint'
    return None


def training_state_problem(path: str) -> Optional[str]:
    """Why a complete checkpoint file can not continue a run (None if it can): weights alone (a consolidated or
    exported file, a release) hold no epoch / iteration and optimizer to resume. Read weights-only, memory-mapped."""
    if osp.isdir(path):
        return None
    try:
        checkpoint = torch.load(path, map_location='cpu', mmap=True, weights_only=True)
    except Exception as e:  # refused or unreadable: the loader reports it in its own words
        return f'it can not be read safely ({type(e).__name__})'
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or not {'epoch', 'iter'} & set(meta) or 'optimizer' not in checkpoint:
        return ('it holds weights but no training state (epoch / iteration, optimizer); start a new run from it '
                'with --cfg-options load_from=PATH instead')
    return None


def run_checkpoints(work_dir: str) -> list:
    """A run's regular checkpoints (``epoch_N.pth`` / ``iter_N.pth``, files or DeepSpeed folders) in ``work_dir``,
    latest step first; the one ``last_checkpoint`` names leads, even if it is gone (so that a resume says so).
    Best-metric copies (``best_*.pth``) are not resume points: they are saved after evaluation, out of step."""
    import glob
    import re
    steps = {}
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            steps[path] = int(match.group(1))
    found = sorted(steps, key=steps.get, reverse=True)
    named = osp.join(work_dir, LAST_CHECKPOINT)
    if osp.isfile(named):
        with open(named) as f:
            last = f.read().strip()
        if last:
            found = [last] + [p for p in found if osp.abspath(p) != osp.abspath(last)]
    return found


def choose_resume_checkpoint(work_dir: str, requested: Optional[str], if_present: bool = False) -> Optional[str]:
    """The checkpoint to resume from: ``requested`` if given (it must be complete), else the newest complete one
    in ``work_dir``, saying on stderr which newer ones it skipped and why. None only with ``if_present`` and no
    checkpoint at all."""
    from internvl_mm.errors import CheckpointError
    if requested is not None:
        problem = checkpoint_problem(requested) or training_state_problem(requested)
        if problem:
            raise CheckpointError(f'--resume {requested}: {problem}; name another checkpoint, or give --resume alone '
                                  f'for the newest complete one in the work dir')
        return requested
    candidates = run_checkpoints(work_dir)
    if not candidates:
        if if_present:
            return None
        raise ConfigError(f'--resume: {work_dir} holds no checkpoint to resume from; drop --resume to train from '
                          f'scratch, or use --resume-if-present')
    skipped = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            for other, why in skipped:
                print(f'train: not resuming from {other}: {why}; using {path}', file=sys.stderr)
            return path
        skipped.append((path, problem))
    reasons = '; '.join(f'{path}: {why}' for path, why in skipped)
    raise CheckpointError(f'--resume: no complete checkpoint in {work_dir} ({reasons})')


def set_aside_previous_run(work_dir: str, keep: Optional[str] = None) -> Optional[str]:
    """Move the checkpoints (and ``last_checkpoint``) of an earlier run in ``work_dir`` into a ``superseded_*``
    folder there, so a new run neither overwrites nor mixes with them; nothing is deleted. Returns the folder.
    ``keep`` (the run's ``load_from``) must not be one of them."""
    import shutil
    import time
    import glob
    items = sorted(glob.glob(osp.join(work_dir, '*.pth')))  # regular and best-metric checkpoints
    if keep and any(osp.abspath(keep) == osp.abspath(p) for p in items):
        raise ConfigError(f'load_from={keep} is a checkpoint of the earlier run in {work_dir}; pass --resume to '
                          f'continue that run, or train into another --work-dir')
    if osp.isfile(osp.join(work_dir, LAST_CHECKPOINT)):
        items.append(osp.join(work_dir, LAST_CHECKPOINT))
    if not items:
        return None
    stamp = time.strftime('%Y%m%d_%H%M%S')
    target, n = osp.join(work_dir, f'superseded_{stamp}'), 1
    while osp.exists(target):
        n += 1
        target = osp.join(work_dir, f'superseded_{stamp}_{n}')
    os.makedirs(target)
    for item in items:
        shutil.move(item, target)
    return target

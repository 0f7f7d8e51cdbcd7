"""Upstream breakages of the pinned stack, fixed in one place (applied once when ``internvl_mm`` is imported).

Each fix is a small function with a test in ``tests/test_compat.py``:

- :func:`allow_mmengine_checkpoint_globals`: torch >= 2.6 loads with ``weights_only=True`` by default and mmengine
  0.10.7 calls ``torch.load`` without the argument, so resuming a run fails on the message hub's
  ``HistoryBuffer`` and numpy values in the checkpoint. We allow-list exactly those types (no blanket
  ``weights_only=False``): a checkpoint holding anything else is still refused. ``HistoryBuffer`` pickles its
  statistic functions through ``getattr``, which can not be allowed safely, so it is saved from its constructor
  arguments instead (checkpoints written by plain mmengine before this fix can not be resumed safely).
- :func:`cpu_safe_init_dist`: mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` unconditionally,
  which fails on a machine without a GPU. Without CUDA we skip it and, since NCCL needs GPUs, use gloo.
- :func:`quiet_deepspeed_on_cpu`: without CUDA, DeepSpeed warns on every import that it falls back to its CPU
  accelerator; we select that accelerator explicitly (``DS_ACCELERATOR=cpu``) unless the user chose one.
- :func:`cpu_safe_ddp`: mmengine's ``Runner`` wraps distributed models in DDP with ``device_ids=[LOCAL_RANK]``, which
  DDP rejects for CPU modules. Without CUDA we wrap with ``device_ids`` unset (the same DDP otherwise).
- :func:`register_available_deepspeed_optimizers`: mmengine's ``DeepSpeedStrategy`` registers DeepSpeed's optimizers
  on construction and imports the 1-bit ones from ``deepspeed.runtime.fp16.onebit``, which DeepSpeed 0.19 removed,
  so every DeepSpeed run fails before it starts. We register the optimizers that exist.
- :func:`keep_flexible_runner_checkpoint_meta`: ``FlexibleRunner.save_checkpoint`` overwrites the epoch/iter its
  ``CheckpointHook`` passes (``Runner`` keeps them), so the checkpoint re-saved after a new best metric claims one
  epoch more than was trained and a resumed run skips it. We keep the values the hook passes.
- :func:`atomic_local_writes`: mmengine writes checkpoints (and other files) through ``LocalBackend.put`` with a
  plain ``open(path, 'wb')``: a crash or kill during a save leaves a truncated file under the checkpoint's name. We
  write to a temporary file beside it and rename it when it is complete (:func:`internvl_mm.files.atomic_write`).
- :func:`save_checkpoints_before_pruning`: with ``max_keep_ckpts``, ``CheckpointHook`` deletes the oldest checkpoint
  *before* it writes the new one, so a failed save can leave nothing to resume from; and it writes
  ``last_checkpoint`` with a plain ``open``. We save first, then point ``last_checkpoint`` at the new file
  (atomically), then delete the outdated one.
- :func:`empty_dataset_is_named`: a dataset whose annotation lists no sample fails in mmengine's
  ``BaseDataset._serialize_data`` with numpy's "need at least one array to concatenate"; we raise an
  :class:`~internvl_mm.errors.InputError` naming the dataset, its root and annotation file instead.
- :func:`skip_mmpretrain_multimodal`: mmpretrain 1.2.0's BLIP/Flamingo/... modules import helpers that
  transformers >= 4.4x no longer exports, which breaks ``import mmpretrain.models``. internvl_mm does not use
  them; mmpretrain then registers its own placeholders that explain the missing dependency if they are used.
  mmseg and mmdet import ``mmpretrain.models`` themselves (``from mmseg.apis import init_model``), so this fix must
  not wait for ``import internvl_mm``: :mod:`internvl_mm.import_hook` (a ``.pth`` file ``make install`` writes into
  site-packages) triggers it right after mmpretrain's ``__init__``, whatever imports mmpretrain first. Pinning
  transformers instead does not fit the stack: the releases that still export the helpers and already have
  InternVLVisionModel (the oracle of ``tools/analysis``), e.g. 4.52, require huggingface_hub < 1.0 and
  tokenizers < 0.22 (the stack pins 2.4 and 0.23) and predate torch 2.14 by years.
"""
import copy
import logging
import os
import os.path as osp

import torch

from internvl_mm.files import atomic_write

_applied = False


def atomic_local_writes():
    from mmengine.fileio.backends.local_backend import LocalBackend

    def put(self, obj: bytes, filepath) -> None:
        with atomic_write(str(filepath), 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        with atomic_write(str(filepath), 'wb') as f:
            f.write(obj.encode(encoding))

    LocalBackend.put, LocalBackend.put_text = put, put_text


def empty_dataset_is_named():
    from mmengine.dataset import BaseDataset

    from internvl_mm.errors import InputError
    serialize = BaseDataset._serialize_data

    def _serialize_data(self):
        if not self.data_list:
            where = ', '.join(f'{k}={getattr(self, k)!r}' for k in ('data_root', 'ann_file') if getattr(self, k, None))
            raise InputError(f'{type(self).__name__} has no samples ({where or "no paths"}); check data_root, '
                             f'ann_file and data_prefix')
        return serialize(self)

    BaseDataset._serialize_data = _serialize_data


def save_checkpoints_before_pruning():
    from mmengine.dist import is_main_process
    from mmengine.hooks import CheckpointHook

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated, kept = None, copy.copy(getattr(self, 'keep_ckpt_ids', None))
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)  # saved with the new checkpoint, as upstream does
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                                   backend_args=self.backend_args, **self.args)
        except BaseException:  # nothing was saved: keep the checkpoints that exist, and the record of them
            if kept is not None:
                self.keep_ckpt_ids = kept
                runner.message_hub.update_info('keep_ckpt_ids', list(kept))
            raise
        if not is_main_process():
            return
        with atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
            f.write(self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # DeepSpeed checkpoints are folders
                self.file_backend.rmtree(path)

    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step


def quiet_deepspeed_on_cpu():
    if not torch.cuda.is_available():
        os.environ.setdefault('DS_ACCELERATOR', 'cpu')


def skip_mmpretrain_multimodal():
    import mmpretrain.utils.dependency as dependency
    dependency.WITH_MULTIMODAL = False


def cpu_safe_ddp():
    import functools

    from mmengine.runner import Runner
    original = Runner.wrap_model
    if getattr(original, '_internvl_mm_patched', False):
        return

    @functools.wraps(original)
    def wrap_model(self, model_wrapper_cfg, model):
        if model_wrapper_cfg is None and self.distributed and not torch.cuda.is_available():
            model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                     find_unused_parameters=self.cfg.get('find_unused_parameters', False))
        return original(self, model_wrapper_cfg, model)

    wrap_model._internvl_mm_patched = True
    Runner.wrap_model = wrap_model


def register_available_deepspeed_optimizers():
    import importlib

    import mmengine._strategy.deepspeed as ds_strategy
    from mmengine.registry import OPTIMIZERS
    candidates = {'deepspeed.ops.adam': ('DeepSpeedCPUAdam', 'FusedAdam'), 'deepspeed.ops.lamb': ('FusedLamb', ),
                  'deepspeed.runtime.fp16.onebit': ('OnebitAdam', 'OnebitLamb', 'ZeroOneAdam')}

    def register() -> list:
        registered = []
        for module_name, names in candidates.items():
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for name in names:
                if hasattr(module, name):
                    OPTIMIZERS.register_module(module=getattr(module, name), force=True)
                    registered.append(name)
        return registered

    ds_strategy.register_deepspeed_optimizers = register


def keep_flexible_runner_checkpoint_meta():
    import functools

    from mmengine.runner import FlexibleRunner
    original = FlexibleRunner.save_checkpoint
    if getattr(original, '_internvl_mm_patched', False):
        return

    @functools.wraps(original)
    def save_checkpoint(self, out_dir, filename, *args, meta=None, **kwargs):
        given = {k: meta[k] for k in ('epoch', 'iter') if meta and k in meta}
        if not given:
            return original(self, out_dir, filename, *args, meta=meta, **kwargs)
        strategy_save = self.strategy.save_checkpoint

        def save_with_given_meta(*save_args, extra_ckpt=None, **save_kwargs):
            extra_ckpt['meta'].update(given)
            return strategy_save(*save_args, extra_ckpt=extra_ckpt, **save_kwargs)

        self.strategy.save_checkpoint = save_with_given_meta
        try:
            return original(self, out_dir, filename, *args, meta=meta, **kwargs)
        finally:
            del self.strategy.save_checkpoint

    save_checkpoint._internvl_mm_patched = True
    FlexibleRunner.save_checkpoint = save_checkpoint


def mmengine_checkpoint_globals() -> list:
    """The non-tensor types mmengine writes into checkpoints (message hub, numpy scalars/arrays in meta)."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = getattr(np, '_core', np.core).multiarray
    return [
        HistoryBuffer,
        multiarray._reconstruct,
        multiarray.scalar,
        np.ndarray,
        np.dtype,
        *{type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'uint32', 'bool')},
    ]


def _reduce_history_buffer(buffer):
    return type(buffer), (buffer._log_history, buffer._count_history, buffer.max_length)


def allow_mmengine_checkpoint_globals():
    import copyreg

    from mmengine.logging.history_buffer import HistoryBuffer
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def cpu_safe_init_dist():
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_internvl_mm_patched', False):
        return

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            logging.getLogger('internvl_mm').warning('No CUDA device: using the gloo backend instead of nccl.')
            backend = 'gloo'
        if init_backend == 'deepspeed':
            import deepspeed
            deepspeed.init_distributed(dist_backend=backend, **kwargs)
        elif init_backend == 'torch':
            torch.distributed.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                                 world_size=int(os.environ['WORLD_SIZE']), **kwargs)
        else:
            raise ValueError(f'init_backend {init_backend!r} is not supported without CUDA; use torch or deepspeed')

    _init_dist_pytorch._internvl_mm_patched = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


def apply():
    """Apply every fix once; safe to call again."""
    global _applied
    if _applied:
        return
    quiet_deepspeed_on_cpu()
    skip_mmpretrain_multimodal()
    allow_mmengine_checkpoint_globals()
    cpu_safe_init_dist()
    cpu_safe_ddp()
    register_available_deepspeed_optimizers()
    keep_flexible_runner_checkpoint_meta()
    atomic_local_writes()
    save_checkpoints_before_pruning()
    empty_dataset_is_named()
    _applied = True

"""DeepSpeed ZeRO and FSDP as config switches for every internvl_mm task.

mmengine's strategies need per-config care that a one-line ``_base_`` include can not give; these subclasses take
the task config as it is:

- :class:`ZeROStrategy` (DeepSpeed): the task's ``optim_wrapper`` (constructor, layer decay, ``clip_grad``,
  ``accumulative_counts``) is translated into DeepSpeed's terms; the micro batch comes from the dataloader; a
  checkpoint saved at another data-parallel size is resumed through DeepSpeed's universal checkpoint format.
- :class:`ShardedDataParallelStrategy` (FSDP): one unit per block that the model declares
  (``checkpointable_blocks``, see :mod:`internvl_mm.models.block_checkpointing`), runs on CPU ranks too, saves full
  (rank-0 gathered) state dicts in parameter names so checkpoints resume at any world size and load in the plain
  runner.

Each strategy checks its own precision / device rules when it is built (fp16 needs a CUDA GPU), so a config that
asks for what the machine lacks stops with one line before anything is set up.

Activation checkpointing has one owner per run: the models' ``with_cp`` by default; FSDP's
``activation_checkpointing`` if a config sets it, which then switches the models' own off (no block is checkpointed
twice). DeepSpeed's ``activation_checkpointing`` section only configures DeepSpeed's own checkpoint function, which
internvl_mm models do not call, so it is refused with a pointer to ``with_cp``.
"""
import copy
import functools
import glob
import os
import os.path as osp
import shutil
from typing import Optional, Tuple, Type, Union

import torch
import torch.nn as nn
from mmengine.dist import barrier, get_world_size, is_main_process
from mmengine.logging import MMLogger

from internvl_mm.errors import ConfigError
from internvl_mm.models.block_checkpointing import checkpointable_block_classes
from internvl_mm.registry import STRATEGIES

# In a strategy config, ``auto_wrap_policy`` / ``activation_checkpointing.check_fn``: the model's declared blocks.
DECLARED_BLOCKS = 'checkpointable_blocks'


def wrap_declared_blocks(blocks: Tuple[Type[nn.Module], ...], module: nn.Module, recurse: bool,
                         nonwrapped_numel: int) -> bool:
    """FSDP auto-wrap policy: one unit per declared block (plus the root for everything else)."""
    return True if recurse else isinstance(module, blocks)


def is_declared_block(blocks: Tuple[Type[nn.Module], ...], module: nn.Module) -> bool:
    """``check_fn`` for FSDP's activation checkpointing: every declared block."""
    return isinstance(module, blocks)


def _remove(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path)
    elif osp.lexists(path):
        os.remove(path)


def single_process_launcher(launcher: Optional[str]) -> str:
    """The launcher for a run of these strategies: one started in one plain process (no torchrun) runs as a group
    of one, since DeepSpeed would otherwise look for MPI and FSDP find no process group. For that case it sets the
    environment torchrun would set for rank 0 of 1 (on a free loopback port) and returns 'pytorch'. The tools call
    it before building the runner."""
    if launcher not in (None, 'none'):
        return launcher
    if 'RANK' in os.environ:  # torchrun's environment, but a tool started without --launcher pytorch
        return 'pytorch'
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', LOCAL_WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    return 'pytorch'


def require_cuda(what: str, fix: str) -> None:
    if not torch.cuda.is_available():
        raise ConfigError(f'{what} needs a CUDA GPU and none is available; {fix}')


def disable_model_checkpointing(model: nn.Module) -> int:
    """Turn off the models' own ``with_cp``; returns how many modules had it on."""
    switched = 0
    for module in model.modules():
        if getattr(module, 'num_checkpointed', 0):
            module.set_grad_checkpointing(False)
            switched += 1
    return switched


def deepspeed_strategy_cls():
    from mmengine._strategy import DeepSpeedStrategy
    return DeepSpeedStrategy


def fsdp_strategy_cls():
    from mmengine._strategy import FSDPStrategy
    return FSDPStrategy


def match_batchnorm_statistics_to_weights(model: nn.Module) -> int:
    """DeepSpeed >= 0.19 casts parameters to bf16 / fp16 but keeps buffers in fp32 (for rotary tables), and
    BatchNorm (the probe heads, UperNet) refuses running statistics in another dtype than its weights: give them
    the weights' dtype, as DeepSpeed's former whole-module cast did. Returns how many norms were changed."""
    changed = 0
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None:
            for name in ('running_mean', 'running_var'):
                buffer = getattr(module, name)
                if buffer is not None and buffer.dtype != module.weight.dtype:
                    setattr(module, name, buffer.to(module.weight.dtype))
                    changed += name == 'running_mean'
    return changed


@STRATEGIES.register_module()
class ZeROStrategy(deepspeed_strategy_cls()):
    """DeepSpeed ZeRO (stage from ``zero_optimization.stage``) for any task config.

    Extra behaviour over mmengine's ``DeepSpeedStrategy``: ``optim_wrapper.clip_grad.max_norm`` becomes DeepSpeed's
    ``gradient_clipping`` (none without ``clip_grad``, where DeepSpeed would silently clip at 1.0) and ``accumulative_counts`` its ``gradient_accumulation_steps``; the optimizer comes from
    the task's constructor (so layer decay and frozen-parameter exclusion hold); ``train_micro_batch_size_per_gpu``
    defaults to the training dataloader's batch size; resuming at another data-parallel size goes through a
    universal checkpoint converted on the fly.
    """

    def __init__(self, **kwargs):
        if (kwargs.get('fp16') or {}).get('enabled'):
            require_cuda('DeepSpeed fp16', 'on CPU use the fp32 or bf16 strategy include')
        if kwargs.get('activation_checkpointing') is not None:
            raise ConfigError('ZeROStrategy: DeepSpeed\'s activation_checkpointing only configures '
                             'deepspeed.checkpointing, which internvl_mm models do not use; checkpoint activations '
                             'with the model\'s with_cp (e.g. model.backbone.with_cp=True) instead.')
        super().__init__(**kwargs)
        # ZeRO shards any torch optimizer's state; DeepSpeed merely has not "tested" those beyond Adam, and the
        # probe recipes use SGD.
        self.config.setdefault('zero_allow_untested_optimizer', True)

    def prepare(self, model, *, optim_wrapper=None, param_scheduler=None, compile=False, dispatch_kwargs=None):
        if dispatch_kwargs and 'train_micro_batch_size_per_gpu' in dispatch_kwargs:
            self.config.setdefault('train_micro_batch_size_per_gpu',
                                   dispatch_kwargs['train_micro_batch_size_per_gpu'])
        self.config.setdefault('train_micro_batch_size_per_gpu', 1)
        prepared = super().prepare(model, optim_wrapper=optim_wrapper, param_scheduler=param_scheduler,
                                   compile=compile, dispatch_kwargs=dispatch_kwargs)
        match_batchnorm_statistics_to_weights(self.model)
        return prepared

    def build_optim_wrapper(self, optim_wrapper, model=None):
        if isinstance(optim_wrapper, dict):
            optim_wrapper = copy.deepcopy(optim_wrapper)
            clip = optim_wrapper.pop('clip_grad', None)
            # DeepSpeed clips to 1.0 unless told otherwise; the task's clip_grad (or its absence) decides.
            self.config.setdefault('gradient_clipping', clip['max_norm'] if clip else 0.0)
            counts = optim_wrapper.pop('accumulative_counts', None)
            if counts:
                self.config['gradient_accumulation_steps'] = counts
            optim_wrapper.pop('loss_scale', None)
            optim_wrapper['type'] = 'DeepSpeedOptimWrapper'
        return super().build_optim_wrapper(optim_wrapper, model)

    def save_checkpoint(self, filename: str, *, extra_ckpt: Optional[dict] = None, callback=None, **kwargs):
        """DeepSpeed writes a folder of files: every rank writes into ``FILENAME.partial``, and only when all are
        done is it renamed to ``FILENAME``, so an interrupted save never leaves an incomplete checkpoint under the
        real name (an earlier one of that name is replaced only then)."""
        # mmengine's DeepSpeedStrategy ignores ``callback`` (the runner's before_save_checkpoint hooks): call it.
        extra_ckpt = extra_ckpt if extra_ckpt is not None else dict()
        if callback is not None:
            callback(extra_ckpt)
        partial, replaced = filename.rstrip('/') + '.partial', filename.rstrip('/') + '.replaced'
        if is_main_process():
            for stale in (partial, replaced):  # left by an earlier interrupted save
                _remove(stale)
        barrier()
        super().save_checkpoint(partial, extra_ckpt=extra_ckpt, **kwargs)
        barrier()
        if is_main_process():
            if osp.lexists(filename):
                os.replace(filename, replaced)
            os.replace(partial, filename)
            _remove(replaced)
        barrier()

    def resume(self, filename: str, *, callback=None, **kwargs) -> dict:
        checkpoint = self._resume(filename, **kwargs)
        if callback is not None:  # the runner's after_load_checkpoint hooks, ignored by mmengine's strategy
            callback(checkpoint)
        return checkpoint

    def _resume(self, filename: str, **kwargs) -> dict:
        saved = self._saved_dp_world_size(filename)
        if saved is None or saved == get_world_size():
            return super().resume(filename, **kwargs)
        MMLogger.get_current_instance().info(
            f'{filename} was saved by {saved} ranks and is resumed by {get_world_size()}: converting it to a '
            f'DeepSpeed universal checkpoint')
        universal = self._to_universal(filename)
        engine_config = self.model.model._config
        engine_config.load_universal_checkpoint = True
        try:
            return super().resume(universal, **kwargs)
        finally:
            engine_config.load_universal_checkpoint = False

    @staticmethod
    def _saved_dp_world_size(filename: str) -> Optional[int]:
        """Data-parallel size a DeepSpeed checkpoint was saved with (the number of optimizer shards)."""
        shards = glob.glob(osp.join(filename, '*optim_states.pt'))
        return len(shards) or None

    @staticmethod
    def _to_universal(filename: str) -> str:
        """Convert a DeepSpeed checkpoint to the universal (world-size-independent) format, once, on rank 0."""
        target = filename.rstrip('/') + '_universal'
        if is_main_process() and not osp.isdir(target):
            from types import SimpleNamespace

            from deepspeed.checkpoint.ds_to_universal import main as ds_to_universal
            staging = target + '.partial'
            shutil.rmtree(staging, ignore_errors=True)
            ds_to_universal(SimpleNamespace(input_folder=filename, output_folder=staging, num_extract_workers=1,
                                            num_merge_workers=1, keep_temp_folder=False, strict=True,
                                            inject_missing_state=True))
            os.replace(staging, target)
        barrier()
        return target


@STRATEGIES.register_module()
class ShardedDataParallelStrategy(fsdp_strategy_cls()):
    """FSDP for any task config: block-level wrapping, CPU ranks, full state dicts, one activation-checkpointing
    owner (see the module docstring)."""

    def __init__(self, model_wrapper: Optional[dict] = None, state_dict_cfg='full',
                 fp16_loss_scale: Union[str, float, None] = None, **kwargs):
        # fp16 compute needs a loss scale that sees every shard: the task's optim_wrapper becomes an
        # AmpOptimWrapper with torch's ShardedGradScaler ('dynamic' or a fixed scale); None = no loss scaling.
        if fp16_loss_scale is not None:
            require_cuda('FSDP fp16',
                         'on CPU use fsdp.py instead of fsdp_fp16.py, with --cfg-options strategy.model_wrapper=None')
        self.fp16_loss_scale = fp16_loss_scale
        model_wrapper = dict(type='MMFullyShardedDataParallel', use_orig_params=True, auto_wrap_policy=DECLARED_BLOCKS,
                             **(model_wrapper or {}))
        if not torch.cuda.is_available():
            model_wrapper.setdefault('device_id', torch.device('cpu'))
        super().__init__(model_wrapper=model_wrapper, state_dict_cfg=state_dict_cfg, **kwargs)

    def _wrap_model(self, model: nn.Module):
        blocks = checkpointable_block_classes(model)
        if self.model_wrapper.get('auto_wrap_policy') == DECLARED_BLOCKS:
            policy = functools.partial(wrap_declared_blocks, blocks) if blocks else None
            self.model_wrapper = dict(self.model_wrapper, auto_wrap_policy=policy)
        if (self.activation_checkpointing or {}).get('check_fn') == DECLARED_BLOCKS:
            self.activation_checkpointing = dict(self.activation_checkpointing,
                                                 check_fn=functools.partial(is_declared_block, blocks))
        if self.activation_checkpointing is not None:
            switched = disable_model_checkpointing(model)
            if switched:
                MMLogger.get_current_instance().info(
                    f'FSDP activation checkpointing is on: switched off with_cp in {switched} module(s) so that no '
                    f'block is checkpointed twice')
        return super()._wrap_model(model)

    def build_optim_wrapper(self, optim_wrapper, model: Optional[nn.Module] = None):
        if self.fp16_loss_scale is not None:
            kind = optim_wrapper.get('type', 'OptimWrapper') if isinstance(optim_wrapper, dict) else None
            if kind not in ('OptimWrapper', 'AmpOptimWrapper'):
                raise ValueError(f'fp16_loss_scale needs the optim_wrapper as a config dict of an OptimWrapper, got '
                                 f'{kind or type(optim_wrapper).__name__}; drop fp16_loss_scale (fsdp_fp16.py) or '
                                 f'the custom optim_wrapper type')
            optim_wrapper = dict(optim_wrapper, type='AmpOptimWrapper', dtype='float16', use_fsdp=True,
                                 loss_scale=self.fp16_loss_scale)
        return super().build_optim_wrapper(optim_wrapper, model)

    def load_optim_state_dict(self, state_dict: dict) -> None:
        # mmengine 0.10.7 passes the arguments in torch < 2.1's order (state, model, optim); torch 2.14 takes
        # (model, optim, state) and fails on resume.
        from torch.distributed.fsdp import FullyShardedDataParallel
        optimizer = self.optim_wrapper.optimizer
        self.optim_wrapper.load_state_dict(
            FullyShardedDataParallel.optim_state_dict_to_load(self.model, optimizer, state_dict))


"""How many bytes of parameters, gradients and optimizer state one rank really holds, read from the training engine.

Works for a plain / DDP model with a torch optimizer, an FSDP-wrapped model, and a DeepSpeed engine (ZeRO 1-3), so
the memory planner's formulas and the strategies' promises can be checked against what is allocated:

- parameters: the local parameter storage (a ZeRO-3 shard ``ds_tensor``, an FSDP flat-parameter shard, else the
  full tensor);
- gradients: the gradient storage the strategy keeps for the optimizer step (ZeRO-2/3 and FSDP: the local gradient
  partition, the size of the local fp32 partition / shard; DDP and ZeRO-1: the full gradients of the trainable
  parameters);
- optimizer: the optimizer's state tensors (e.g. Adam's moments, SGD's momentum);
- master: ZeRO's fp32 master copies of the local partition (DeepSpeed keeps them even when training in fp32).

:class:`ModelStateBytesHook` writes them out from a training run. Importing this module registers it in
``internvl_mm.registry.HOOKS``; a config that uses it adds the module to its base's imports::

    custom_imports = dict(imports=[*_base_.custom_imports.imports, 'tools.analysis.lib.model_state'],
                          allow_failed_imports=False)
    default_hooks = dict(model_state=dict(type='ModelStateBytesHook'))

(``tools/train.py`` puts the repository root on ``sys.path``, so ``tools.analysis`` imports from a checkout.)
"""
import json
import os.path as osp
from typing import Dict

import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


def _bytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _optimizer_state_bytes(optimizer) -> int:
    return sum(_bytes(v) for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v))


def deepspeed_engine(model):
    """The DeepSpeed engine inside mmengine's wrapper, or None."""
    engine = getattr(model, 'model', None)
    return engine if engine is not None and hasattr(engine, 'zero_optimization_stage') else None


def model_state_bytes(model: nn.Module, optimizer) -> Dict[str, int]:
    """``{'params', 'grads', 'optimizer', 'master'}`` bytes held by this rank (see the module docstring)."""
    engine = deepspeed_engine(model)
    if engine is not None:
        return _deepspeed_bytes(engine)
    from torch.distributed.fsdp import FullyShardedDataParallel
    if isinstance(model, FullyShardedDataParallel):
        flat = [m._flat_param for m in FullyShardedDataParallel.fsdp_modules(model)
                if getattr(m, '_flat_param', None) is not None]
        params = sum(_bytes(f) for f in flat)
        trainable = sum(_bytes(f) for f in flat if f.requires_grad)
        return dict(params=params, grads=trainable, optimizer=_optimizer_state_bytes(optimizer), master=0)
    module = getattr(model, 'module', model)
    params = list(module.parameters())
    return dict(params=sum(_bytes(p) for p in params), grads=sum(_bytes(p) for p in params if p.requires_grad),
                optimizer=_optimizer_state_bytes(optimizer), master=0)


def _deepspeed_bytes(engine) -> Dict[str, int]:
    stage = engine.zero_optimization_stage()
    zero = engine.optimizer
    module_params = list(engine.module.parameters())
    params = sum(_bytes(p.ds_tensor) + (_bytes(p) if getattr(p, 'ds_persist', False) else 0)
                 if hasattr(p, 'ds_tensor') else _bytes(p) for p in module_params)
    partitions = zero.fp32_partitioned_groups_flat if stage == 3 else zero.single_partition_of_fp32_groups
    master = sum(_bytes(t) for t in partitions)
    grad_dtype_bytes = next(p for p in module_params).element_size()
    if stage >= 2:
        grads = sum(t.numel() for t in partitions) * grad_dtype_bytes
    else:
        grads = sum(p.numel() * p.element_size() for p in module_params if p.requires_grad)
    return dict(params=params, grads=grads, optimizer=_optimizer_state_bytes(zero.optimizer), master=master)


@HOOKS.register_module()
class ModelStateBytesHook(Hook):
    """Logs the bytes once, after the first training iteration, and writes them to
    ``<work_dir>/model_state_bytes_rank<r>.json`` for tools that compare strategies."""
    priority = 'LOW'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter != 0:
            return
        counts = model_state_bytes(runner.model, runner.optim_wrapper.optimizer)
        runner.logger.info('model state on this rank: ' + ', '.join(f'{k} {v / 2**20:.2f} MiB'
                                                                      for k, v in counts.items()))
        with open(osp.join(runner.work_dir, f'model_state_bytes_rank{get_rank()}.json'), 'w') as f:
            json.dump(counts, f)

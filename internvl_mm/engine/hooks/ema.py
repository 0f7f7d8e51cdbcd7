"""EMA of the trainable parameters only.

mmengine's ``EMAHook`` deep-copies the whole model; for a probe on a frozen 6B backbone that is 12-24 GB more for
a few MB of head. This hook keeps shadow copies of just the tensors that change: parameters with
``requires_grad`` and the floating buffers (BatchNorm statistics) of modules that own such parameters. It follows
``EMAHook``'s conventions: EMA weights are swapped in for validation and test, a checkpoint's ``state_dict`` holds
the EMA weights (ready to deploy or test) and ``ema_state_dict`` the raw ones, swapped back on resume. Under
DeepSpeed, whose checkpoints hold the weights in the engine's own files, the shadow copies travel as
``ema_shadow`` instead. ZeRO-3 partitions the parameters themselves, which this hook can not average: it refuses.
"""
from typing import Dict

import torch
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


@HOOKS.register_module()
class TrainableEMAHook(Hook):
    """``ema = (1 - momentum) * ema + momentum * value`` after every training iteration."""
    priority = 'ABOVE_NORMAL'

    def __init__(self, momentum: float = 0.0002):
        if not 0 < momentum < 1:
            raise ValueError(f'TrainableEMAHook momentum must be in (0, 1), got {momentum}')
        self.momentum = momentum
        self._tracked: Dict[str, torch.Tensor] = {}
        self._shadow: Dict[str, torch.Tensor] = {}
        self._steps = 0
        self._loaded = None  # EMA values from a resumed checkpoint, applied once the shadows exist

    def before_run(self, runner) -> None:
        from torch.distributed.fsdp import FullyShardedDataParallel
        model = getattr(runner.model, 'module', runner.model)
        if isinstance(runner.model, FullyShardedDataParallel) or any(hasattr(p, 'ds_id') for p in model.parameters()):
            raise ValueError('TrainableEMAHook can not average sharded parameters (FSDP, ZeRO-3); use DDP or '
                             'ZeRO-1/2, or drop the hook')
        tracked = {n: p for n, p in model.named_parameters() if p.requires_grad}
        for module_name, module in model.named_modules():
            if any(p.requires_grad for p in module.parameters(recurse=False)):
                for name, buf in module.named_buffers(recurse=False):
                    if buf.is_floating_point():
                        tracked[f'{module_name}.{name}' if module_name else name] = buf
        self._tracked = tracked
        self._shadow = {n: t.detach().clone() for n, t in tracked.items()}
        if self._loaded is not None:  # FlexibleRunner resumes before before_run
            self._apply_loaded(*self._loaded)

    @torch.no_grad()
    def _apply_loaded(self, values: Dict[str, torch.Tensor], steps: int):
        if not self._shadow:
            self._loaded = (values, steps)
            return
        for name, value in values.items():
            if name in self._shadow:
                self._shadow[name].copy_(value)
        self._steps = steps
        self._loaded = None

    @torch.no_grad()
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for name, tensor in self._tracked.items():
            if self._steps == 0:
                self._shadow[name].copy_(tensor)
            else:
                self._shadow[name].lerp_(tensor.detach().to(self._shadow[name].dtype), self.momentum)
        self._steps += 1

    @torch.no_grad()
    def _swap(self):
        for name, tensor in self._tracked.items():
            raw = tensor.detach().clone()
            tensor.data.copy_(self._shadow[name])
            self._shadow[name].copy_(raw)

    def before_val_epoch(self, runner) -> None:
        self._swap()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._swap()

    def before_test_epoch(self, runner) -> None:
        self._swap()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._swap()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'state_dict' not in checkpoint:  # DeepSpeed saves the weights itself
            checkpoint['ema_shadow'] = {n: t.detach().cpu().clone() for n, t in self._shadow.items()}
            checkpoint['meta']['ema_steps'] = self._steps
            return
        state = checkpoint['state_dict']
        checkpoint['ema_state_dict'] = {n: state[n] for n in self._shadow if n in state}
        for name in checkpoint['ema_state_dict']:
            state[name] = self._shadow[name].detach().cpu().clone()
        checkpoint['meta']['ema_steps'] = self._steps

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner._resume:
            return
        steps = checkpoint['meta'].get('ema_steps', 1)
        if 'ema_shadow' in checkpoint:
            self._apply_loaded(checkpoint['ema_shadow'], steps)
        elif 'ema_state_dict' in checkpoint:
            state, raw = checkpoint['state_dict'], checkpoint['ema_state_dict']
            self._apply_loaded({name: state[name] for name in raw}, steps)
            state.update(raw)  # the model resumes from its raw weights

"""Hooks that SIGKILL their own training process at a chosen moment (for the resume and fault tests)."""
import os
import signal

from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """SIGKILLs its own process while the checkpoint of epoch ``epoch`` is being written: ``via='fsync'`` after the
    bytes are out and before the file is synced and renamed (mmengine's single-file saves), ``via='torch_save'``
    after the first file of a multi-file save (DeepSpeed's checkpoint folder)."""

    def __init__(self, epoch: int, via: str = 'fsync'):
        self.epoch, self.via = epoch, via

    def before_save_checkpoint(self, runner, checkpoint):
        if (checkpoint.get('meta') or {}).get('epoch') != self.epoch:  # not a best-metric copy of an earlier epoch
            return
        if self.via == 'fsync':
            os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
            return
        import torch
        save = torch.save

        def save_then_die(*args, **kwargs):
            save(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        torch.save = save_then_die

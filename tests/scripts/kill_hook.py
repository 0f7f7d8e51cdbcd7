"""A hook that SIGKILLs its own training process at a fixed iteration (for the resume test)."""
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

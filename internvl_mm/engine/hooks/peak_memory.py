"""Peak memory in the training log of CPU runs: mmengine logs ``memory`` (the CUDA allocator's peak) only on GPUs."""
import resource
import sys

import torch
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


def peak_rss_mb() -> float:
    """Largest resident set of this process so far, in MiB.

    Linux: ``VmHWM`` of /proc/self/status, which starts afresh with each program (``ru_maxrss`` survives exec, so a
    tool started from a large process would report that process's peak). Elsewhere ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == 'darwin' else peak / 1024


@HOOKS.register_module()
class PeakMemoryHook(Hook):
    """Logs ``peak_rss_mb`` after every training iteration on machines without CUDA: the process's peak resident
    memory so far (model, optimizer, activations and data in this process; data-loader workers not included)."""
    priority = 'NORMAL'  # before the LoggerHook ('BELOW_NORMAL') reads the message hub

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not torch.cuda.is_available():
            runner.message_hub.update_scalar('train/peak_rss_mb', peak_rss_mb())

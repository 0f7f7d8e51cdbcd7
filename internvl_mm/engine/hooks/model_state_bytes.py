"""Reports what each rank holds after the first optimizer step: parameter, gradient and optimizer-state bytes."""
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from internvl_mm.engine.model_state import model_state_bytes
from internvl_mm.registry import HOOKS


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

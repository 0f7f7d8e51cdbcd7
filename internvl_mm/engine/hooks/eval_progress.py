"""A progress bar for validation and test loops (rank 0), beside mmengine's periodic log lines."""
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from internvl_mm.registry import HOOKS


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Shows ``done/total, images/s, ETA`` while a val or test loop runs."""
    priority = 'VERY_LOW'

    def __init__(self):
        self._bar = None

    def _start(self, runner, loader):
        if is_main_process() and loader is not None and len(loader) > 0:
            self._bar = ProgressBar(len(loader))

    def _step(self):
        if self._bar is not None:
            self._bar.update()
            if self._bar.completed >= self._bar.task_num:
                # end the bar's line with its last step: LoggerHook (a higher priority) logs the metrics in
                # after_*_epoch before this hook's own after_*_epoch runs, and would continue the bar's line
                self._finish()

    def _finish(self):
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar.file.flush()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_dataloader)

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()

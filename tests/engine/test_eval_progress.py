"""EvalProgressHook ends its line with the last step, before LoggerHook (which runs first in after_val_epoch)
logs the metrics, so the metrics line never continues the bar's."""
import io
from types import SimpleNamespace

from mmengine.utils import ProgressBar

from internvl_mm.engine.hooks import eval_progress
from internvl_mm.engine.hooks.eval_progress import EvalProgressHook


def test_the_bar_line_ends_with_the_last_step(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(eval_progress, 'ProgressBar', lambda n: ProgressBar(n, file=out))
    hook = EvalProgressHook()
    runner = SimpleNamespace(val_dataloader=[0, 1, 2])
    hook.before_val_epoch(runner)
    for i in range(3):
        assert not out.getvalue().endswith('\n')
        hook.after_val_iter(runner, i)
    assert out.getvalue().endswith('\n')  # before after_val_epoch: LoggerHook's metrics start a new line
    hook.after_val_epoch(runner)
    assert not out.getvalue().endswith('\n\n')  # one line end, not an empty line

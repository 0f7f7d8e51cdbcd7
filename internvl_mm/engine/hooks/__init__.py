from .ema import TrainableEMAHook
from .eval_progress import EvalProgressHook
from .random_state import RandomStateHook

__all__ = ['EvalProgressHook', 'RandomStateHook', 'TrainableEMAHook']

from .hooks import EvalProgressHook, RandomStateHook
from .optimizers import LayerDecayOptimWrapperConstructor

__all__ = ['EvalProgressHook', 'LayerDecayOptimWrapperConstructor', 'RandomStateHook']

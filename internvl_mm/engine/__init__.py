from .hooks import EvalProgressHook, RandomStateHook
from .optimizers import LayerDecayOptimWrapperConstructor
from .strategies import ShardedDataParallelStrategy, ZeROStrategy

__all__ = ['EvalProgressHook', 'LayerDecayOptimWrapperConstructor', 'RandomStateHook', 'ShardedDataParallelStrategy',
           'ZeROStrategy']

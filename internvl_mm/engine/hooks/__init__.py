from .adapter_checkpoint import AdapterCheckpointHook
from .bf16_backbone import BF16BackboneHook
from .ema import TrainableEMAHook
from .eval_progress import EvalProgressHook
from .itm_curriculum import ITMHardNegativeCurriculumHook
from .peak_memory import PeakMemoryHook
from .random_state import RandomStateHook

__all__ = ['AdapterCheckpointHook', 'BF16BackboneHook', 'EvalProgressHook', 'ITMHardNegativeCurriculumHook',
           'PeakMemoryHook', 'RandomStateHook', 'TrainableEMAHook']

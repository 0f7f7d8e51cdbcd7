from .attention_pooling import AttentionPooling
from .probe_head import ProbeClsHead
from .seg_linear_head import LinearProbeSegHead

__all__ = ['AttentionPooling', 'LinearProbeSegHead', 'ProbeClsHead']

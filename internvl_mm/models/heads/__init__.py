from .attention_pooling import AttentionPooling
from .probe_head import ProbeClsHead

__all__ = ['AttentionPooling', 'ProbeClsHead']

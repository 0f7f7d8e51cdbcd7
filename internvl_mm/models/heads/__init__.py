"""Heads. ``AttentionPooling`` needs no toolbox; the toolbox heads are imported by their task's integration:
``ProbeClsHead`` (``probe_head``, mmpretrain) by :mod:`internvl_mm.integrations.classification`,
``LinearProbeSegHead`` (``seg_linear_head``, mmseg) by :mod:`internvl_mm.integrations.segmentation`."""
from .attention_pooling import AttentionPooling

__all__ = ['AttentionPooling']

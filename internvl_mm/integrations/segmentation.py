"""The segmentation (mmseg) modules: the paper's linear-probe decode head.

Imported by every config built on ``configs/_base_/tasks/segmentation.py``; needs mmseg only.
"""
from internvl_mm.models.heads.seg_linear_head import LinearProbeSegHead

__all__ = ['LinearProbeSegHead']

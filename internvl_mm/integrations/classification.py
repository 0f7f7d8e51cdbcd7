"""The classification (mmpretrain) modules: the paper's probes and the ImageNet robustness sets.

Imported by every config built on ``configs/_base_/tasks/classification.py``; needs mmpretrain only.
"""
from internvl_mm.datasets.imagenet_variants import ImageNetReaL, ImageNetVariantFolder
from internvl_mm.models.heads.probe_head import ProbeClsHead

__all__ = ['ImageNetReaL', 'ImageNetVariantFolder', 'ProbeClsHead']

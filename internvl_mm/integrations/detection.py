"""The detection (mmdet) modules: none yet. The detectors use InternViT and ``ViTFeaturePyramid``, which need no
toolbox and are registered by ``import internvl_mm``; a module that subclasses mmdet's classes belongs here.

Imported by every config built on ``configs/_base_/tasks/detection.py``: importing mmdet here makes a config fail
when it is loaded, naming mmdet, if mmdet is missing.
"""
import mmdet  # noqa: F401

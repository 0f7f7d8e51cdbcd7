"""The shapes demo's data: a deterministic scene generator (:mod:`.scene`) and writers of each task's dataset in
its toolbox's real on-disk format (:mod:`.formats`). Importing this package needs no toolbox.

The dataset types the demo configs use, with their class names built in, are registered by one module per
toolbox, which each dataset base config names in ``custom_imports``: :mod:`.classification` (mmpretrain,
``ShapesClsDataset``), :mod:`.segmentation` (mmseg, ``ShapesSegDataset``), :mod:`.detection` (mmdet,
``ShapesDetDataset``). The captions need none: they are read by internvl_mm's ``ImageTextDataset``.
"""
from .formats import CLS_CLASSES, DEFAULTS, DET_CLASSES, PALETTE, SEG_CLASSES, ensure_shapes_dataset
from .scene import SHAPES, describe, render, sample_scene, scene_rng

__all__ = ['CLS_CLASSES', 'DEFAULTS', 'DET_CLASSES', 'PALETTE', 'SEG_CLASSES', 'SHAPES', 'describe',
           'ensure_shapes_dataset', 'render', 'sample_scene', 'scene_rng']

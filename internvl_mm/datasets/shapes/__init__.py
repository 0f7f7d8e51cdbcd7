from .formats import CLS_CLASSES, DEFAULTS, DET_CLASSES, SEG_CLASSES, ensure_shapes_dataset
from .registered import ShapesClsDataset
from .scene import SHAPES, describe, render, sample_scene, scene_rng

__all__ = ['CLS_CLASSES', 'DEFAULTS', 'DET_CLASSES', 'SEG_CLASSES', 'SHAPES', 'ShapesClsDataset', 'describe',
           'ensure_shapes_dataset', 'render', 'sample_scene', 'scene_rng']

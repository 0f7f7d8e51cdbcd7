from .formats import CLS_CLASSES, DEFAULTS, DET_CLASSES, SEG_CLASSES, ensure_shapes_dataset
from .registered import ShapesClsDataset, ShapesDetDataset, ShapesSegDataset
from .scene import SHAPES, describe, render, sample_scene, scene_rng

__all__ = ['CLS_CLASSES', 'DEFAULTS', 'DET_CLASSES', 'SEG_CLASSES', 'SHAPES', 'ShapesClsDataset', 'ShapesDetDataset', 'ShapesSegDataset', 'describe',
           'ensure_shapes_dataset', 'render', 'sample_scene', 'scene_rng']

"""The shapes classification set as an mmpretrain dataset type (class names built in: configs need no list)."""
from mmpretrain.datasets import CustomDataset

from internvl_mm.registry import DATASETS
from .formats import CLS_CLASSES


@DATASETS.register_module()
class ShapesClsDataset(CustomDataset):
    """Shapes classification in ImageNet layout: ``ann_file='meta/train.txt'``, ``data_prefix='train'``."""
    METAINFO = dict(classes=CLS_CLASSES)

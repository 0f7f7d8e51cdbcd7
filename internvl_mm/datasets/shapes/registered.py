"""The shapes datasets as toolbox dataset types with their class names built in (configs need no class lists)."""
from mmpretrain.datasets import CustomDataset

from internvl_mm.registry import DATASETS
from .formats import CLS_CLASSES


@DATASETS.register_module()
class ShapesClsDataset(CustomDataset):
    """Shapes classification in ImageNet layout: ``ann_file='meta/train.txt'``, ``data_prefix='train'``."""
    METAINFO = dict(classes=CLS_CLASSES)

"""The shapes detection / instance segmentation set as an mmdet dataset type (class names and palette built in)."""
from mmdet.datasets import CocoDataset

from internvl_mm.registry import DATASETS
from .formats import DET_CLASSES, PALETTE


@DATASETS.register_module()
class ShapesDetDataset(CocoDataset):
    """Shapes detection / instance segmentation in COCO layout (``annotations/instances_{train,val}.json``)."""
    METAINFO = dict(classes=DET_CLASSES, palette=PALETTE[1:])

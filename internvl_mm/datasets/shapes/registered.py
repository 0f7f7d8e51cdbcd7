"""The shapes datasets as toolbox dataset types with their class names built in (configs need no class lists)."""
from mmdet.datasets import CocoDataset
from mmpretrain.datasets import CustomDataset
from mmseg.datasets import BaseSegDataset

from internvl_mm.registry import DATASETS
from .formats import CLS_CLASSES, DET_CLASSES, SEG_CLASSES

PALETTE = [(60, 60, 60), (220, 60, 60), (60, 180, 80), (60, 90, 220), (230, 200, 40)]


@DATASETS.register_module()
class ShapesClsDataset(CustomDataset):
    """Shapes classification in ImageNet layout: ``ann_file='meta/train.txt'``, ``data_prefix='train'``."""
    METAINFO = dict(classes=CLS_CLASSES)


@DATASETS.register_module()
class ShapesSegDataset(BaseSegDataset):
    """Shapes segmentation in ADE20K layout and semantics: ``.jpg`` images, ``.png`` labels where 0 is unlabelled,
    and ``reduce_zero_label=True`` (0 -> ignore 255, k -> k - 1), exactly like mmseg's ``ADE20KDataset``."""
    METAINFO = dict(classes=SEG_CLASSES, palette=PALETTE)

    def __init__(self, img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=reduce_zero_label,
                         **kwargs)


@DATASETS.register_module()
class ShapesDetDataset(CocoDataset):
    """Shapes detection / instance segmentation in COCO layout (``annotations/instances_{train,val}.json``)."""
    METAINFO = dict(classes=DET_CLASSES, palette=PALETTE[1:])

"""The shapes segmentation set as an mmseg dataset type (class names and palette built in)."""
from mmseg.datasets import BaseSegDataset

from internvl_mm.registry import DATASETS
from .formats import PALETTE, SEG_CLASSES


@DATASETS.register_module()
class ShapesSegDataset(BaseSegDataset):
    """Shapes segmentation in ADE20K layout and semantics: ``.jpg`` images, ``.png`` labels where 0 is unlabelled,
    and ``reduce_zero_label=True`` (0 -> ignore 255, k -> k - 1), exactly like mmseg's ``ADE20KDataset``."""
    METAINFO = dict(classes=SEG_CLASSES, palette=PALETTE)

    def __init__(self, img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=reduce_zero_label,
                         **kwargs)

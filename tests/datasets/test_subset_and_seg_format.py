"""FractionSubset, and the shapes segmentation labels under mmseg's ADE20K loading semantics."""
import numpy as np
import pytest
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from internvl_mm.datasets import FractionSubset
from internvl_mm.datasets.shapes import SEG_CLASSES, ShapesSegDataset


def test_fraction_subset_is_fixed_and_sized():
    data = list(range(100))
    a, b = FractionSubset(data, 1 / 16, seed=0), FractionSubset(data, 1 / 16, seed=0)
    assert len(a) == 6 and [a[i] for i in range(6)] == [b[i] for i in range(6)]
    assert [a[i] for i in range(6)] != [FractionSubset(data, 1 / 16, seed=1)[i] for i in range(6)]
    with pytest.raises(ValueError, match='fraction'):
        FractionSubset(data, 0)


def test_seg_labels_follow_ade20k_reduce_zero_label(shapes_seg):
    ds = ShapesSegDataset(data_root=shapes_seg, data_prefix=dict(img_path='images/training',
                                                                 seg_map_path='annotations/training'), pipeline=[])
    assert ds.metainfo['classes'] == SEG_CLASSES and len(ds) == 32
    info = ds[0]
    raw = np.asarray(Image.open(info['seg_map_path']))
    loaded = LoadAnnotations(reduce_zero_label=True)(dict(info, seg_fields=[]))['gt_seg_map']
    assert set(np.unique(raw)) <= {0, 1, 2, 3, 4, 5} and (raw == 0).any() and (raw >= 2).any()
    assert (loaded[raw == 0] == 255).all()  # unlabelled -> ignore
    assert (loaded[raw > 0] == raw[raw > 0] - 1).all()  # background 0, shapes 1..4

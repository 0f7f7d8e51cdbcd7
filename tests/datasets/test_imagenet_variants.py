"""ImageNet robustness datasets (folder layouts, labels) and their metrics, on small fake copies."""
import os

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample
from PIL import Image

from internvl_mm.datasets.imagenet_variants import ImageNetReaL, ImageNetVariantFolder, imagenet_synsets
from internvl_mm.evaluation import ReaLAccuracy, SubsetAccuracy


def _image(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)


def test_synsets_are_the_1000_imagenet_classes_in_order():
    wnids = imagenet_synsets()
    assert len(wnids) == 1000 and wnids[0] == 'n01440764' and wnids == sorted(wnids)


def test_synset_folders_get_imagenet_indices(tmp_path):
    wnids = imagenet_synsets()
    for wnid in (wnids[6], wnids[999]):
        _image(str(tmp_path / wnid / 'a.jpg'))
        _image(str(tmp_path / wnid / 'b.JPEG'))
    (tmp_path / 'README.txt').write_text('not a class')
    ds = ImageNetVariantFolder(str(tmp_path), pipeline=[])
    assert [d['gt_label'] for d in ds.load_data_list()] == [6, 6, 999, 999]
    assert ds.metainfo['eval_class_indices'] == [6, 999] and len(ds.metainfo['classes']) == 1000


def test_index_folders_sort_numerically(tmp_path):
    for folder in ('2', '10', '999'):
        _image(str(tmp_path / folder / 'x.png'))
    ds = ImageNetVariantFolder(str(tmp_path), folder_labels='index', pipeline=[])
    assert sorted(d['gt_label'] for d in ds.load_data_list()) == [2, 10, 999]


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageNetVariantFolder(str(tmp_path / 'imagenet-a'), pipeline=[])


def test_real_labels_follow_val_image_numbers(tmp_path):
    os.makedirs(tmp_path / 'meta')
    names = ['ILSVRC2012_val_00000002.JPEG', 'ILSVRC2012_val_00000001.JPEG']
    (tmp_path / 'meta' / 'val.txt').write_text(''.join(f'{n} 0\n' for n in names))
    (tmp_path / 'real.json').write_text('[[3, 4], []]')
    ds = ImageNetReaL(data_root=str(tmp_path), split='val', real_json=str(tmp_path / 'real.json'), pipeline=[])
    assert [d['gt_label'] for d in ds.load_data_list()] == [[], [3, 4]]


def _sample(scores, label):
    return DataSample().set_pred_score(torch.tensor(scores, dtype=torch.float)).set_gt_label(label).to_dict()


def test_subset_accuracy_restricts_predictions_to_present_classes():
    metric = SubsetAccuracy(topk=(1, 2))
    metric.dataset_meta = dict(eval_class_indices=[1, 3])
    # Class 0 has the highest score but is not in the subset: the restricted argmax is class 3.
    metric.process(None, [_sample([9, 1, 0, 2], 3), _sample([9, 2, 0, 1], 3)])
    assert metric.compute_metrics(metric.results) == {'top1': 50.0, 'top2': 100.0}


def test_real_accuracy_skips_unlabelled_images():
    metric = ReaLAccuracy()
    metric.process(None, [_sample([0, 5, 1], [1, 2]), _sample([5, 0, 1], [1]), _sample([0, 0, 5], [])])
    assert metric.compute_metrics(metric.results) == {'top1': 50.0, 'num_labelled': 2}

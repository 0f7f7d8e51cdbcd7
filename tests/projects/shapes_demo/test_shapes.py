"""The shapes demo's data: the generator is deterministic and writes formats the toolboxes read."""
import json
import os.path as osp

import numpy as np
import pytest
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from projects.shapes_demo.shapes import (CLS_CLASSES, SEG_CLASSES, SHAPES, ensure_shapes_dataset, render,
                                         sample_scene, scene_rng)
from projects.shapes_demo.shapes.formats import classification_scene
from projects.shapes_demo.shapes.segmentation import ShapesSegDataset


def test_scenes_are_a_pure_function_of_seed_split_index():
    a = render(sample_scene(scene_rng(0, 'train', 5), 64, (2, 3)))[0]
    b = render(sample_scene(scene_rng(0, 'train', 5), 64, (2, 3)))[0]
    c = render(sample_scene(scene_rng(0, 'val', 5), 64, (2, 3)))[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_classification_label_matches_scene():
    for index in range(32):
        scene, label = classification_scene(0, 'train', index, 64)
        colour, shape, position = CLS_CLASSES[label].split('_')
        main = scene.objects[0]
        assert (main.colour, main.shape) == (colour, shape)
        assert (main.center[1] < 0.42 * 64) if position == 'top' else (main.center[1] > 0.58 * 64)


def test_instance_map_respects_occlusion():
    scene = sample_scene(scene_rng(1, 'train', 0), 96, (4, 4), max_overlap=1.0)
    _, instance, clutter = render(scene)
    assert set(np.unique(instance)) <= set(range(len(scene.objects) + 1))
    assert (instance == len(scene.objects)).sum() > 0  # the top shape is always visible


def test_generation_is_cached_and_regenerated_on_change(tmp_path):
    folder, made = ensure_shapes_dataset(str(tmp_path), 'cls', num_train=16, num_val=16)
    assert made and len(open(osp.join(folder, 'meta', 'train.txt')).read().split('\n')) == 17
    assert ensure_shapes_dataset(str(tmp_path), 'cls', num_train=16, num_val=16) == (folder, False)
    assert ensure_shapes_dataset(str(tmp_path), 'cls', num_train=8, num_val=16)[1]
    with pytest.raises(ValueError, match='unknown parameters'):
        ensure_shapes_dataset(str(tmp_path), 'cls', num_images=3)


def test_cls_layout_is_imagenet_style(shapes_cls):
    lines = open(osp.join(shapes_cls, 'meta', 'val.txt')).read().split()
    path, label = lines[0], int(lines[1])
    assert path.split('/')[0] == CLS_CLASSES[label]
    assert Image.open(osp.join(shapes_cls, 'val', path)).size == (64, 64)
    assert json.load(open(osp.join(shapes_cls, 'manifest.json')))['task'] == 'cls'
    assert len(SHAPES) == 4


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


def test_make_shapes_tool_generates_once(tmp_path):
    """tools/data/make_shapes.py writes the requested task and leaves an identical copy alone."""
    from tests.helpers import run_tool
    args = ('data/make_shapes.py', '--root', str(tmp_path), '--tasks', 'cls', '--num-train', '8', '--num-val', '4')
    first = run_tool(*args)
    assert 'generated in' in first.stdout
    with open(osp.join(tmp_path, 'cls', 'manifest.json')) as f:
        assert json.load(f)['num_train'] == 8
    assert 'already there' in run_tool(*args).stdout

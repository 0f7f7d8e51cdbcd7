"""Zero-shot robustness through tools/test.py: the ImageNet-A config (the robustness datasets of the
classification side, the 1000-way zero-shot classifier restricted to the classes the set holds) on a small
generated set in the release layout, checked against a hand computation; the other configs' settings."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from internvl_mm.datasets.imagenet_variants import imagenet_synsets
from tests.evaluation.zero_shot_models import (LOADER, SMALL_MODEL, build_checkpoint, classifier_by_hand,
                                               normalise_pixels, run_test, write_config,
                                               write_multilingual_tokenizer)
from tests.helpers import CONFIGS_ROOT

PRE = osp.join(CONFIGS_ROOT, 'pretraining')
CLASSES = [1, 7, 99, 207, 530, 980]  # ImageNet-1K indices present in the small set


@pytest.mark.slow
def test_imagenet_a_zero_shot_through_test_py_matches_a_hand_computation(tmp_path):
    root = tmp_path / 'imagenet-a'
    rng = np.random.default_rng(0)
    files = []
    for label in CLASSES:
        folder = root / imagenet_synsets()[label]
        os.makedirs(folder)
        for k in range(2):
            path = str(folder / f'{k}.jpg')
            mmcv.imwrite(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), path)
            files.append((path, label))
    os.makedirs(root / 'README_not_a_class')  # a folder that is no synset is skipped
    tokenizer = write_multilingual_tokenizer(str(tmp_path / 'tokenizer'))
    templates = ['a photo of a {}.']  # the config's 80 OpenAI templates x 1000 classes are too slow here
    pipeline = [dict(type='LoadImageFromFile'), dict(type='CheckImageSize'),
                dict(type='ResizeEdge', scale=48, edge='short', interpolation='bicubic'),
                dict(type='CenterCrop', crop_size=48), dict(type='PackInputs')]
    body = SMALL_MODEL.format(tokenizer=tokenizer, vocab_size=400) + f"""
model.update(zero_shot=dict(class_names='imagenet', templates={templates!r}))
test_dataloader = dict({LOADER}, dataset=dict(data_root={str(root)!r}, pipeline={pipeline!r}))
"""
    config = write_config(str(tmp_path), osp.join(PRE, 'zero-shot_internvl-c-14b_in1k-a.py'), body)
    model, cfg = build_checkpoint(config, str(tmp_path / 'small.pth'))
    metrics, predictions = run_test(config, str(tmp_path / 'small.pth'), str(tmp_path / 'work'))

    from mmpretrain.datasets.categories import IMAGENET_SIMPLE_CATEGORIES
    with torch.no_grad():
        weights = classifier_by_hand(model, tokenizer, IMAGENET_SIMPLE_CATEGORIES, templates)
        images = []
        for path, _ in sorted(files):  # the dataset lists folders and files sorted
            rgb = torch.from_numpy(np.ascontiguousarray(mmcv.imread(path)[..., ::-1])).permute(2, 0, 1)[None]
            images.append(model.encode_image(normalise_pixels(rgb, cfg))[0])
        images = torch.stack(images)
    labels = [label for _, label in sorted(files)]
    dumped = torch.stack([torch.as_tensor(p['image_embeds']) for p in predictions])
    torch.testing.assert_close(dumped, images, atol=2e-5, rtol=1e-4)
    scores = images @ weights.t()
    present = sorted(set(labels))
    ranked = [[present[j] for j in row.argsort(descending=True).tolist()] for row in scores[:, present]]
    for k in (1, 5):
        expected = 100.0 * sum(label in row[:k] for row, label in zip(ranked, labels)) / len(labels)
        assert metrics[f'accuracy/top{k}'] == pytest.approx(expected, abs=1e-3), k
    # restricted to the present classes, top-5 of 6 classes is not the 1000-way top-5
    full = scores.argsort(dim=1, descending=True)[:, :5]
    full_top5 = 100.0 * sum(label in row.tolist() for row, label in zip(full, labels)) / len(labels)
    assert metrics['accuracy/top5'] >= full_top5


def test_robustness_configs_use_the_papers_prompt_ensemble_and_the_released_layouts():
    from mmengine.config import Config
    layouts = {'a': ('data/imagenet-a', 'synset'), 'r': ('data/imagenet-r', 'synset'),
               'sketch': ('data/imagenet-sketch', 'synset'), 'v2': ('data/imagenetv2-matched-frequency', 'index')}
    for key, (root, labels) in layouts.items():
        cfg = Config.fromfile(osp.join(PRE, f'zero-shot_internvl-c-14b_in1k-{key}.py'))
        dataset = cfg.test_dataloader.dataset
        assert (dataset.type, dataset.data_root, dataset.folder_labels) == ('ImageNetVariantFolder', root, labels)
        assert cfg.model.zero_shot == dict(class_names='imagenet', templates='openai_imagenet')
        assert cfg.test_evaluator.type == 'SubsetAccuracy'
        assert [s['type'] for s in dataset.pipeline][-3:] == ['ResizeEdge', 'CenterCrop', 'PackInputs']


def test_objectnet_reads_the_release_layout_and_keeps_the_imagenet_classes(tmp_path):
    import json

    from mmengine.config import Config

    from internvl_mm.datasets.objectnet import ObjectNetFolder, objectnet_classes
    root = tmp_path / 'objectnet'
    mappings = root / 'objectnet-1.0' / 'mappings'
    os.makedirs(mappings)
    (mappings / 'folder_to_objectnet_label.json').write_text(json.dumps(
        {'alarm_clock': 'Alarm clock', 'air_freshener': 'Air freshener', 'banana': 'Banana'}))
    (mappings / 'objectnet_to_imagenet_1k.json').write_text(json.dumps(
        {'Alarm clock': 'analog clock; digital clock', 'Banana': 'banana'}))  # no ImageNet class for air freshener
    for folder in ('alarm_clock', 'air_freshener', 'banana'):
        os.makedirs(root / 'objectnet-1.0' / 'images' / folder)
        mmcv.imwrite(np.zeros((20, 20, 3), np.uint8), str(root / 'objectnet-1.0' / 'images' / folder / '1.png'))
    assert objectnet_classes(str(root)) == ['alarm clock', 'banana']  # sorted by folder, lower case
    ds = ObjectNetFolder(data_root=str(root))
    assert [(osp.basename(osp.dirname(d['img_path'])), d['gt_label']) for d in ds] == [('alarm_clock', 0),
                                                                                       ('banana', 1)]
    assert ds.metainfo['classes'] == ('alarm clock', 'banana')
    cfg = Config.fromfile(osp.join(PRE, 'zero-shot_internvl-c-14b_objectnet.py'))
    assert cfg.test_dataloader.dataset.type == 'ObjectNetFolder'
    assert cfg.model.zero_shot.templates == 'openai_imagenet'

"""The demo's pipeline (data generation, transfer from the classification run, tools/train.py, tools/test.py with
--show-dir, the result table) for every task, at smoke scale."""
import os

import pytest

from tests.helpers import run_tool


@pytest.mark.slow
def test_demo_smoke(tmp_path):
    result = run_tool('demo.py', '--smoke', '--work-dir', str(tmp_path / 'work'), '--data-root',
                      str(tmp_path / 'data'), timeout=1500)
    for expected in ('accuracy/top1', 'mIoU', 'coco/bbox_mAP', 'coco/segm_mAP'):
        assert expected in result.stdout
    for task in ('classification', 'segmentation', 'detection'):
        assert os.listdir(tmp_path / 'work' / task / 'predictions'), task  # --show-dir wrote images
    train_log = (tmp_path / 'work' / 'segmentation' / 'train.log').read_text()
    assert 'Loaded 56 InternViT tensors' in train_log  # started from the classification checkpoint

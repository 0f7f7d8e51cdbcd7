"""Iteration-based task bases log validation metrics at their iteration: with mmengine's default
log_metric_by_epoch=True, LoggerHook writes them at step runner.epoch, which an iteration-based loop never advances
(every detection evaluation landed at TensorBoard step 0)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import ROOT

ITERATION_BASED = ('detection', 'segmentation')


@pytest.mark.parametrize('task', ITERATION_BASED)
def test_iteration_based_bases_log_metrics_by_iteration(task):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'tasks', f'{task}.py'))
    assert cfg.default_hooks.logger.log_metric_by_epoch is False
    assert cfg.log_processor.by_epoch is False


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(ROOT, 'projects', 'shapes_demo', 'configs', 'detection',
                                                           '*.py'))))
def test_detection_demo_configs_log_metrics_by_iteration(path):
    cfg = Config.fromfile(path, import_custom_modules=False)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.default_hooks.logger.get('log_metric_by_epoch') is False

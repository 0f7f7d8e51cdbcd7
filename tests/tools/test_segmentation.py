"""Segmentation recipes (linear probe, UperNet head tuning, full tuning) through tools/train.py and tools/test.py."""
import os
import os.path as osp

import pytest

from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, last_scalars, run_tool

SEG = osp.join(DEMO_CONFIGS, 'segmentation')


def _data(root):
    # model.backbone.init_cfg=None: from scratch, not from the classification demo's checkpoint
    return ['model.backbone.init_cfg=None', *(f'{loader}.dataset.data_root={root}'
                                              for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'))]


@pytest.mark.parametrize('config', ['linear-probe_internvit-demo_shapes-seg.py',
                                    'upernet-head_internvit-demo_shapes-seg.py',
                                    'upernet-full_internvit-demo_shapes-seg.py'])
def test_train_then_test(tmp_path, shapes_seg, config):
    work = str(tmp_path / 'work')
    run_tool('train.py', osp.join(SEG, config), '--work-dir', work, '--cfg-options', *_data(shapes_seg),
             'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
             'default_hooks.logger.interval=2', 'train_dataloader.batch_size=4', *FAST_LOADERS)
    scalars = last_scalars(work)
    assert 'decode.loss_ce' in scalars and 'mIoU' in scalars
    result = run_tool('test.py', osp.join(SEG, config), osp.join(work, 'iter_4.pth'), '--work-dir',
                      str(tmp_path / 'test'), '--show-dir', str(tmp_path / 'show'), '--cfg-options',
                      *_data(shapes_seg), *FAST_LOADERS)
    miou = float(result.stdout.split('mIoU=')[1].split()[0])
    assert miou == pytest.approx(scalars['mIoU'], abs=1e-2)
    shown = [f for _, _, files in os.walk(tmp_path / 'show') for f in files if f.endswith('.png')]
    assert len(shown) == 8  # one prediction image per validation image

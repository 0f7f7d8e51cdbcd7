"""tools/test.py's toolbox flags: --show-dir draws every --interval-th test image in every task, --tta runs a
segmentation config's tta_model, and flags are never abbreviated (--show once was --show-dir)."""
import glob
import os.path as osp

import pytest
import torch

from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, run_tool

CLS = osp.join(DEMO_CONFIGS, 'classification', 'linear-probe_internvit-tiny_shapes-cls.py')
SEG = osp.join(DEMO_CONFIGS, 'segmentation', 'linear-probe_internvit-demo_shapes-seg.py')
DET = osp.join(DEMO_CONFIGS, 'detection', 'mask-rcnn_internvit-demo_shapes-det.py')


def checkpoint(config, path):
    """A checkpoint that fits ``config``'s model exactly, built in this process (untrained)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from internvl_mm.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = cfg.model if 'data_preprocessor' in cfg.model or 'data_preprocessor' not in cfg else dict(
        cfg.model, data_preprocessor=cfg.data_preprocessor)
    torch.save({'state_dict': MODELS.build(model).state_dict(), 'meta': {}}, path)
    return str(path)


def data(root):
    return [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                'test_dataloader')]


def images(folder):
    return sorted(p for ext in ('png', 'jpg') for p in glob.glob(osp.join(folder, '**', f'*.{ext}'),
                                                                 recursive=True))


@pytest.fixture(scope='module')
def cls_ckpt(tmp_path_factory):
    return checkpoint(CLS, tmp_path_factory.mktemp('cls') / 'model.pth')


@pytest.fixture(scope='module')
def seg_ckpt(tmp_path_factory):
    return checkpoint(SEG, tmp_path_factory.mktemp('seg') / 'model.pth')


def test_classification_show_dir_draws_every_interval_th_image(tmp_path, shapes_cls, cls_ckpt):
    show = tmp_path / 'show'
    run_tool('test.py', CLS, cls_ckpt, '--work-dir', str(tmp_path / 'work'), '--show-dir', str(show),
             '--interval', '2', '--cfg-options', *data(shapes_cls), *FAST_LOADERS)
    assert len(images(show)) == 48 // 2  # the shapes_cls fixture's 48 validation images


def test_segmentation_show_dir_draws_every_interval_th_image(tmp_path, shapes_seg, seg_ckpt):
    show = tmp_path / 'show'
    run_tool('test.py', SEG, seg_ckpt, '--work-dir', str(tmp_path / 'work'), '--show-dir', str(show),
             '--interval', '2', '--cfg-options', *data(shapes_seg), *FAST_LOADERS)
    assert len(images(show)) == 8 // 2  # 8 validation images, in one batch of 16


def test_detection_show_dir_draws_every_interval_th_image(tmp_path, shapes_det):
    ckpt = checkpoint(DET, tmp_path / 'model.pth')
    show = tmp_path / 'show'
    run_tool('test.py', DET, ckpt, '--work-dir', str(tmp_path / 'work'), '--show-dir', str(show),
             '--interval', '3', '--cfg-options', *data(f'{shapes_det}/'), 'model.backbone.init_cfg=None',
             f'test_evaluator.ann_file={shapes_det}/annotations/instances_val.json', *FAST_LOADERS)
    assert len(images(show)) == 3  # images 0, 3 and 6 of the 8 validation images


def test_segmentation_tta(tmp_path, shapes_seg, seg_ckpt):
    result = run_tool('test.py', SEG, seg_ckpt, '--work-dir', str(tmp_path / 'work'), '--tta',
                      '--cfg-options', *data(shapes_seg), *FAST_LOADERS)
    assert 'mIoU=' in result.stdout.strip().splitlines()[-1]


def test_flags_are_not_abbreviated(tmp_path, cls_ckpt):
    result = run_tool('test.py', CLS, cls_ckpt, '--show-d', str(tmp_path), check=False)
    assert result.returncode == 2 and 'unrecognized arguments: --show-d' in result.stderr


def test_tta_without_a_tta_model_is_one_line(tmp_path, shapes_cls, cls_ckpt):
    result = run_tool('test.py', CLS, cls_ckpt, '--tta', '--cfg-options', *data(shapes_cls), check=False)
    assert result.returncode == 1 and '--tta: this config has no tta_model' in result.stderr

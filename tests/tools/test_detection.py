"""Mask R-CNN on InternViT (frozen in bf16, and fully tuned) through tools/train.py and tools/test.py."""
import os.path as osp

import pytest

from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, last_scalars, run_tool

DET = osp.join(DEMO_CONFIGS, 'detection')


def _data(root):
    # model.backbone.init_cfg=None: from scratch, not from the classification demo's checkpoint
    return ['model.backbone.init_cfg=None', f'train_dataloader.dataset.data_root={root}/',
            f'val_dataloader.dataset.data_root={root}/', f'test_dataloader.dataset.data_root={root}/',
            f'val_evaluator.ann_file={root}/annotations/instances_val.json',
            f'test_evaluator.ann_file={root}/annotations/instances_val.json']


@pytest.mark.slow
@pytest.mark.parametrize('config', ['mask-rcnn_internvit-demo-frozen_shapes-det.py',
                                    'mask-rcnn_internvit-demo_shapes-det.py'])
def test_train_then_test(tmp_path, shapes_det, config):
    work = str(tmp_path / 'work')
    run_tool('train.py', osp.join(DET, config), '--work-dir', work, '--cfg-options', *_data(shapes_det),
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
             'default_hooks.logger.interval=1', 'train_dataloader.batch_size=4', *FAST_LOADERS)
    scalars = last_scalars(work)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_mask', 'coco/bbox_mAP', 'coco/segm_mAP'} <= set(scalars)
    result = run_tool('test.py', osp.join(DET, config), osp.join(work, 'iter_2.pth'), '--work-dir',
                      str(tmp_path / 'test'), '--cfg-options', *_data(shapes_det), *FAST_LOADERS)
    last = result.stdout.strip().splitlines()[-1]
    assert 'coco/bbox_mAP=' in last and 'coco/segm_mAP=' in last
    assert float(last.split('coco/bbox_mAP=')[1].split()[0]) == pytest.approx(scalars['coco/bbox_mAP'], abs=1e-3)


def test_coco_export_is_valid(shapes_det):
    """The generated instances json loads in pycocotools with boxes matching the polygon masks."""
    from pycocotools.coco import COCO
    coco = COCO(osp.join(shapes_det, 'annotations', 'instances_val.json'))
    assert sorted(c['name'] for c in coco.loadCats(coco.getCatIds())) == ['circle', 'cross', 'square', 'triangle']
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 2 * len(coco.getImgIds())
    for ann in anns[:20]:
        mask = coco.annToMask(ann)
        ys, xs = mask.nonzero()
        x, y, w, h = ann['bbox']
        # polygons run through border pixel centres, so their rasterisation may lose up to ~2 px at the far side
        assert abs(xs.min() - x) <= 1 and abs(ys.min() - y) <= 1 and 0 <= x + w - (xs.max() + 1) <= 2

"""The shipped configs carry the papers' recipes (the values the issues and READMEs state), after _base_ merging:
a base edited for one task must not silently change another's recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import CONFIGS_ROOT

SEG = osp.join(CONFIGS_ROOT, 'segmentation')
DET = osp.join(CONFIGS_ROOT, 'detection')


def load(folder, name):
    return Config.fromfile(osp.join(folder, name))


@pytest.mark.parametrize('recipe', ['linear-probe', 'upernet-head', 'upernet-full'])
def test_ade20k_schedule_and_inference(recipe):
    cfg = load(SEG, f'{recipe}_internvit-6b-224px_8xb2-80k_ade20k-504x504.py')
    assert cfg.crop_size == (504, 504) and cfg.model.backbone.img_size == 504
    assert cfg.train_dataloader.batch_size == 2  # x 8 GPUs = 16
    assert cfg.train_cfg.max_iters == 80000
    assert cfg.optim_wrapper.optimizer.type == 'AdamW' and cfg.optim_wrapper.optimizer.lr == 4e-5
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.end, poly.type, poly.begin, poly.end) == ('LinearLR', 1500, 'PolyLR', 1500, 80000)
    assert cfg.model.test_cfg == dict(mode='slide', crop_size=(504, 504), stride=(322, 322))


def test_ade20k_recipes_differ_where_the_paper_says():
    linear, head, full = (load(SEG, f'{r}_internvit-6b-224px_8xb2-80k_ade20k-504x504.py').model
                          for r in ('linear-probe', 'upernet-head', 'upernet-full'))
    assert linear.backbone.frozen_stages == 'all' and linear.backbone.out_indices == (-1, )
    assert linear.decode_head.type == 'LinearProbeSegHead'
    for model in (head, full):
        assert model.backbone.out_indices == (11, 23, 35, 47)  # blocks 12/24/36/48
        assert model.decode_head.type == 'UPerHead' and model.decode_head.channels == 1536
        assert model.neck.type == 'ViTFeaturePyramid' and model.neck.scales == (4, 2, 1, 0.5)
    assert head.backbone.frozen_stages == 'all'
    assert full.backbone.get('frozen_stages', -1) == -1 and full.backbone.drop_path_rate == 0.4
    assert full.backbone.with_cp is True
    full_cfg = load(SEG, 'upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py')
    assert full_cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.95


def test_few_shot_subsets_are_one_option_not_copies():
    fractions = sorted(Config.fromfile(p).train_dataloader.dataset.fraction
                       for p in glob.glob(osp.join(SEG, 'few_shot', '*.py')))
    assert fractions == [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]


@pytest.mark.parametrize('name', sorted(osp.basename(p) for p in glob.glob(osp.join(DET, '*.py'))))
def test_coco_recipes_are_vitdet_style(name):
    cfg = load(DET, name)
    backbone = cfg.model.backbone
    assert backbone.img_size == 1024 and backbone.patch_size == 16 and backbone.window_size == 14
    assert len(backbone.global_block_indexes) == 4
    assert cfg.model.data_preprocessor.batch_augments == [dict(type='BatchFixedSizePad', size=(1024, 1024),
                                                               pad_mask=True)]
    assert cfg.model.neck.type == 'ViTFeaturePyramid' and cfg.model.neck.extra_pool_levels == 1
    assert cfg.val_evaluator.type == 'CocoMetric' and cfg.val_evaluator.metric == ['bbox', 'segm']
    frozen = '-frozen' in name
    assert (backbone.get('frozen_stages') == 'all') == frozen
    if not frozen:
        assert backbone.drop_path_rate > 0 and cfg.optim_wrapper.paramwise_cfg.layer_decay_rate < 1


@pytest.mark.parametrize('name', ['linear-probe_internvit-6b-224px_8xb128_in1k.py',
                                  'attn-pool-probe_internvit-6b-224px_8xb128_in1k.py'])
def test_imagenet_probe_recipe(name):
    cfg = load(osp.join(CONFIGS_ROOT, 'classification'), name)
    assert cfg.model.backbone.frozen_stages == 'all'
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=0.0)
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.train_cfg.max_epochs == 10 and cfg.param_scheduler[0].end == 1  # 1 warm-up epoch, then cosine
    assert any(h.type == 'TrainableEMAHook' for h in cfg.custom_hooks)


def test_internvl_pretraining_recipes():
    folder = osp.join(CONFIGS_ROOT, 'pretraining')
    stage1 = load(folder, 'internvl-c_internvit-6b-qllama-8b_stage1-196px_640xb256.py')
    assert stage1.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    assert stage1.optim_wrapper.paramwise_cfg.custom_keys.qllama.lr_mult == 0.1  # 1e-4 for the text side
    assert stage1.param_scheduler[0].end == 5000
    assert stage1.model.backbone.img_size == 196 and stage1.model.backbone.drop_path_rate == 0.2
    stage2 = load(folder, 'internvl-g_internvit-6b-qllama-8b_stage2-224px_160xb128.py')
    assert stage2.optim_wrapper.optimizer.lr == 5e-5
    assert set(stage2.model.losses) == {'itc', 'itm', 'itg'} and 'vision_model' not in str(stage2.model.trainable)

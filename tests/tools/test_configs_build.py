"""Every shipped config parses, and its model builds and runs with a tiny arch (no data, no download)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from internvl_mm.registry import MODELS
from tests.helpers import ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p) + sorted(p for p in glob.glob(
                     osp.join(ROOT, 'projects', '*', 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


def tiny(cfg: Config) -> Config:
    """Swap the backbone for the tiny preset (4 blocks, width 64) and drop pretrained weights; shrink whatever
    reads its width, keep everything else."""
    model = cfg.model
    backbone = model.backbone
    width = 64
    backbone.arch = 'tiny'
    backbone.pop('init_cfg', None)
    backbone.img_size = 4 * backbone.get('patch_size', 14)
    if len(backbone.get('out_indices', [-1])) > 1:
        backbone.out_indices = tuple(range(len(backbone.out_indices)))
    if backbone.get('window_size'):  # ViTDet-style: 2 x 2 windows, blocks 1 and 3 global
        backbone.update(window_size=2, global_block_indexes=(1, 3), window_block_indexes=None)
    if model.get('qllama'):  # InternVL: the tiny QLLaMA instead of the 8B one
        model.qllama.arch = 'tiny'
    if model.get('rpn_head'):  # a few proposals: random weights would send 1000 through every cascade stage
        model.test_cfg.rpn.update(nms_pre=100, max_per_img=20)
    head = model.get('head')
    if head is not None and head.get('type') == 'ProbeClsHead':
        head.in_channels = 2 * width if backbone.get('out_type') == 'cls_patch_concat' else width
        if head.get('attention_pooling'):
            head.attention_pooling.num_heads = 2
    if model.get('neck') and model.neck.get('type') == 'ViTFeaturePyramid':
        model.neck.in_channels = width
    for name in ('decode_head', 'auxiliary_head'):
        seg_head = model.get(name)
        if seg_head:
            seg_head.in_channels = [width] * 4 if isinstance(seg_head.in_channels, list) else width
            if 'channels' in seg_head:
                seg_head.channels = 16
            if seg_head.get('norm_cfg'):
                seg_head.norm_cfg = dict(type='BN', requires_grad=True)
    return cfg


def test_config_list_is_not_empty():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds_with_tiny_arch(path):
    cfg = Config.fromfile(path)
    assert 'internvl_mm' in cfg.custom_imports['imports']
    assert any(isinstance(b, dict) and b.get('type') == 'TensorboardVisBackend'
               for b in cfg.visualizer.vis_backends)
    init_default_scope(cfg.default_scope)
    cfg = tiny(cfg)
    cfg.model.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(cfg.model).eval()
    size = cfg.model.backbone.img_size
    samples = None
    if cfg.model.get('rpn_head'):  # two-stage detectors read the image shapes from the data samples
        from mmdet.structures import DetDataSample
        samples = [DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                               scale_factor=(1., 1.))) for _ in range(2)]
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size), samples, mode='tensor')
    if cfg.model.type == 'ImageClassifier' and cfg.model.head:  # a backbone config (configs/backbones) has no head
        assert out.shape == (2, cfg.model.head.num_classes)
    elif cfg.model.type == 'EncoderDecoder':
        assert out.shape[:2] == (2, cfg.model.decode_head.num_classes)
    DefaultScope._instance_dict.clear()

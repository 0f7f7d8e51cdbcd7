# The segmentation demo: the paper's full-tuning recipe (InternViT taps -> x4/x2/x1/x0.5 pyramid -> UperNet, AdamW
# with layer-wise LR decay, poly schedule) at demo scale on 64 px scenes. The backbone is the classification demo's
# InternViT and starts from that run's checkpoint, as the paper's segmentors start from pretrained InternViT weights
# (model.backbone.init_cfg=None trains it from scratch).
_base_ = '../_base_/shapes_seg.py'
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='InternViT',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384, img_size=64, patch_size=8),
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/demo/classification/epoch_8.pth',
                      prefix='backbone.')),
    neck=dict(type='ViTFeaturePyramid', in_channels=96, scales=(4, 2, 1, 0.5)),
    decode_head=dict(
        type='UPerHead',
        in_channels=[96, 96, 96, 96],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.1,
        num_classes=5,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    test_cfg=dict(mode='whole'),
)
max_iters = 2500
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.9),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))

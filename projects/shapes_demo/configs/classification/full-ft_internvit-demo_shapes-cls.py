# The demo: a small InternViT (6B feature set: RMSNorm, QK-norm, LayerScale, no qkv bias; 8 px patches on 64 px
# images) trained from scratch end to end on the shapes classification set, AdamW with layer-wise LR decay.
_base_ = '../_base_/shapes_cls.py'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='InternViT',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384, img_size=64, patch_size=8),
        out_type='cls_patch_concat',
        drop_path_rate=0.0),
    head=dict(type='ProbeClsHead', num_classes=16, in_channels=192, topk=(1, 5)),
)
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.9),
    clip_grad=dict(max_norm=1.0),
)
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=4))

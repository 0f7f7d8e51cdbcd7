# The linear probe on the shapes set: frozen backbone (bf16), last block's map -> BN -> 1x1 classifier.
_base_ = './upernet-full_internvit-demo_shapes-seg.py'
model = dict(
    backbone=dict(out_indices=(-1, ), frozen_stages='all'),
    neck=None,
    decode_head=dict(_delete_=True, type='LinearProbeSegHead', in_channels=96, num_classes=5, dropout_ratio=0.0,
                     norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
)
custom_hooks = [dict(type='BF16BackboneHook')]

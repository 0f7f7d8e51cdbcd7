# InternViT-6B-224px weights at 504 px (position embedding resized at load), taps after blocks 12/24/36/48,
# the official x4/x2/x1/x0.5 pyramid, UperNet (1536 channels) and an FCN auxiliary head; activation checkpointing
# on; slide inference with 504 windows and stride 322.
_base_ = './internvit_seg_preprocessor.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='InternViT',
        arch='6b-224',
        img_size=504,
        out_indices=(11, 23, 35, 47),
        out_type='featmap',
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px')),
    neck=dict(type='ViTFeaturePyramid', in_channels=3200, scales=(4, 2, 1, 0.5)),
    decode_head=dict(
        type='UPerHead',
        in_channels=[3200, 3200, 3200, 3200],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=1536,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=3200,
        in_index=2,
        channels=1536,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(504, 504), stride=(322, 322)),
)

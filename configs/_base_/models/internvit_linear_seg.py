# The paper's linear probe for segmentation: frozen InternViT-6B-224px at 504 px, the last block's map only,
# BatchNorm -> 1x1 classifier; slide inference with 504 windows and stride 322.
_base_ = './internvit_seg_preprocessor.py'
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='InternViT',
        arch='6b-224',
        img_size=504,
        out_indices=(-1, ),
        out_type='featmap',
        frozen_stages='all',
        init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px')),
    decode_head=dict(
        type='LinearProbeSegHead',
        in_channels=3200,
        dropout_ratio=0.0,
        num_classes=150,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(504, 504), stride=(322, 322)),
)

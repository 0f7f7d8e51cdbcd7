# InternViT-300M-448px in the UperNet segmentor: 1024-d taps after blocks 6/12/18/24, UperNet with 768 channels.
_base_ = './internvit_upernet.py'
model = dict(
    backbone=dict(arch='300m', out_indices=(5, 11, 17, 23),
                  init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    neck=dict(in_channels=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=768),
    auxiliary_head=dict(in_channels=1024, channels=768),
)

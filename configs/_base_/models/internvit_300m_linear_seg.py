# InternViT-300M-448px linear probe segmentor: the last block's 1024-d map, BN + 1x1 classifier.
_base_ = './internvit_linear_seg.py'
model = dict(
    backbone=dict(arch='300m', init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    decode_head=dict(in_channels=1024),
)

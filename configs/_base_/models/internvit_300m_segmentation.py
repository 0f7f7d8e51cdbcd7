# Swaps the segmentation backbone for InternViT-300M-448px: 1024-d taps after blocks 6/12/18/24 for UperNet (768
# channels), the last block for the linear probe.
internvit_300m_upernet = dict(
    backbone=dict(arch='300m', out_indices=(5, 11, 17, 23), init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    neck=dict(in_channels=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=768),
    auxiliary_head=dict(in_channels=1024, channels=768),
)
internvit_300m_linear = dict(
    backbone=dict(arch='300m', init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    decode_head=dict(in_channels=1024),
)

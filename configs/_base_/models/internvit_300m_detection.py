# Swaps the detection backbone for InternViT-300M-448px (24 blocks, global attention in blocks 6/12/18/24).
internvit_300m = dict(
    backbone=dict(arch='300m', global_block_indexes=(5, 11, 17, 23),
                  init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    neck=dict(in_channels=1024),
)

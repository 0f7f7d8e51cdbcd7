# InternViT-6B full tuning on ADE20K (paper: 58.9 mIoU): drop path 0.4, layer-wise LR decay 0.95 over 48 + 2 depth
# buckets, activation checkpointing. A 6B backbone needs sharded optimizer states: use the ZeRO variant on GPUs.
_base_ = [
    '../_base_/models/internvit_upernet.py',
    '../_base_/datasets/ade20k_504.py',
    '../_base_/schedules/seg_adamw_poly_80k.py',
    '../_base_/tasks/segmentation.py',
]
model = dict(backbone=dict(drop_path_rate=0.4))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.95))

# InternViT-300M full tuning on ADE20K (no paper number): drop path 0.4, layer-wise LR decay 0.95 over 24 + 2 depth
# buckets, activation checkpointing. Same recipe as 6B, not tuned for 300M.
_base_ = [
    '../_base_/models/internvit_300m_upernet.py',
    '../_base_/datasets/ade20k_504.py',
    '../_base_/schedules/seg_adamw_poly_80k.py',
    '../_base_/tasks/segmentation.py',
]
model = dict(backbone=dict(drop_path_rate=0.4))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.95))

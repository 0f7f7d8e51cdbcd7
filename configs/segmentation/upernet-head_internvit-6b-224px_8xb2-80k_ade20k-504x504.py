# InternViT-6B head tuning on ADE20K (paper: 54.9 mIoU): frozen backbone in bf16, pyramid + UperNet trained in fp32.
_base_ = [
    '../_base_/models/internvit_upernet.py',
    '../_base_/datasets/ade20k_504.py',
    '../_base_/schedules/seg_adamw_poly_80k.py',
    '../_base_/tasks/segmentation.py',
]
model = dict(backbone=dict(frozen_stages='all', with_cp=False), auxiliary_head=dict(in_index=1))
custom_hooks = [dict(type='BF16BackboneHook')]

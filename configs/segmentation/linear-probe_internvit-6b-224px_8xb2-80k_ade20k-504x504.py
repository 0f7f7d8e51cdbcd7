# InternViT-6B linear probe on ADE20K (paper: 47.2 mIoU): frozen backbone in bf16, BN + 1x1 classifier in fp32.
_base_ = [
    '../_base_/models/internvit_linear_seg.py',
    '../_base_/datasets/ade20k_504.py',
    '../_base_/schedules/seg_adamw_poly_80k.py',
    '../_base_/tasks/segmentation.py',
]
optim_wrapper = dict(optimizer=dict(weight_decay=0.0))
custom_hooks = [dict(type='BF16BackboneHook')]

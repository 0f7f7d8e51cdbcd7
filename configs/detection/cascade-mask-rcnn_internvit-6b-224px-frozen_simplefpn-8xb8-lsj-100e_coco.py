# Cascade Mask R-CNN on a frozen InternViT-6B (run in bf16, heads in fp32), ViTDet-style: SimpleFPN, LSJ 1024, 100 epochs.
_base_ = [
    '../_base_/models/internvit_cascade_mask_rcnn.py',
    '../_base_/datasets/coco_instance_lsj_1024.py',
    '../_base_/schedules/det_adamw_lsj_100e.py',
    '../_base_/tasks/detection.py',
]
model = dict(backbone=dict(frozen_stages='all', with_cp=False))
custom_hooks = [dict(type='BF16BackboneHook')]

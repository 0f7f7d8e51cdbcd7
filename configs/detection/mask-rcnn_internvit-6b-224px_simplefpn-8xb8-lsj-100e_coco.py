# Mask R-CNN fully fine-tuning InternViT-6B (drop path 0.4, layer decay 0.9 over 48 + 2 depth buckets), ViTDet-style.
# 6B parameters with AdamW states need sharding: use the ZeRO variant on GPUs.
_base_ = [
    '../_base_/models/internvit_mask_rcnn.py',
    '../_base_/datasets/coco_instance_lsj_1024.py',
    '../_base_/schedules/det_adamw_lsj_100e.py',
    '../_base_/tasks/detection.py',
]
model = dict(backbone=dict(drop_path_rate=0.4))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))

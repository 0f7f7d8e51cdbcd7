# Mask R-CNN with the demo InternViT frozen and run in bf16 (the frozen-backbone recipe at demo scale).
_base_ = './mask-rcnn_internvit-demo_shapes-det.py'
model = dict(backbone=dict(frozen_stages='all'))
custom_hooks = [dict(type='BF16BackboneHook')]

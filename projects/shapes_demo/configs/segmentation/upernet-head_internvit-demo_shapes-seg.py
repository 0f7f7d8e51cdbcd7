# Head tuning on the shapes set: the demo segmentor with its backbone frozen and run in bf16 (BF16BackboneHook), the
# pyramid and UperNet trained in fp32. Point model.backbone.init_cfg at trained weights to tune a head on them.
_base_ = './upernet-full_internvit-demo_shapes-seg.py'
model = dict(backbone=dict(frozen_stages='all'))
custom_hooks = [dict(type='BF16BackboneHook')]

# Mask R-CNN (mmdet's) on InternViT + SimpleFPN with ViTDet's heads: a 2-conv RPN, 4conv1fc box head and a mask
# head, both with LayerNorm.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './internvit_simplefpn.py']
model = dict(
    data_preprocessor={{_base_.fixed_canvas_preprocessor}},
    backbone={{_base_.internvit_detection_backbone}},
    neck={{_base_.simple_fpn_neck}},
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg={{_base_.ln2d}}),
        mask_head=dict(norm_cfg={{_base_.ln2d}})),
)

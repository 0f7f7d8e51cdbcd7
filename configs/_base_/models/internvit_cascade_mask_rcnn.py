# Cascade Mask R-CNN (mmdet's) on InternViT + SimpleFPN with ViTDet's heads (4conv1fc + LayerNorm at each stage).
_base_ = ['mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py', './internvit_simplefpn.py']
model = dict(
    data_preprocessor={{_base_.fixed_canvas_preprocessor}},
    backbone={{_base_.internvit_detection_backbone}},
    neck={{_base_.simple_fpn_neck}},
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=[
            dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg={{_base_.ln2d}}, in_channels=256,
                 fc_out_channels=1024, roi_feat_size=7, num_classes=80, reg_class_agnostic=True,
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=stds),
                 loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
        ],
        mask_head=dict(norm_cfg={{_base_.ln2d}})),
)

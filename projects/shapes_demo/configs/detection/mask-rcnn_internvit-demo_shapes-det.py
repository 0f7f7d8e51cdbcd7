# The detection demo: the COCO Mask R-CNN recipe (InternViT with window attention + SimpleFPN + ViTDet heads) at demo
# scale on 128 px scenes: the classification demo's InternViT (8 px patches -> a 16 x 16 grid, 4 x 4 windows in two
# of its four blocks), a stride-4..64 pyramid of 64 channels, slim heads. The backbone starts from the
# classification demo's checkpoint, as the paper's detectors start from pretrained InternViT weights
# (model.backbone.init_cfg=None trains it from scratch).
_base_ = [
    '../../../../configs/_base_/models/internvit_mask_rcnn.py',
    '../_base_/shapes_det.py',
]
width = 64
model = dict(
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], bgr_to_rgb=True,
                           pad_size_divisor=32,
                           batch_augments=[dict(type='BatchFixedSizePad', size=(128, 128), pad_mask=True)]),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384,
                  img_size=64, patch_size=8),
        patch_size=8, img_size=128, window_size=4, global_block_indexes=(1, 3), with_cp=False,
        init_cfg=dict(checkpoint='work_dirs/demo/classification/epoch_8.pth', prefix='backbone.')),
    neck=dict(in_channels=96, scales=(2, 1, 0.5, 0.25), out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, conv_out_channels=width, fc_out_channels=256, num_classes=4),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(in_channels=width, conv_out_channels=width, num_classes=4)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)),
)
max_iters = 800
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(layer_decay_rate=0.8),
    clip_grad=dict(max_norm=1.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[640, 740], gamma=0.1),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))

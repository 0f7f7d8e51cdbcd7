# The embedded shapes segmentation set in ADE20K layout and semantics (5 classes after reduce_zero_label:
# background + 4 shapes; the clutter lines are label 0, i.e. ignored), 64 px, generated into data/shapes/seg.
# Builds on the segmentation task, whose integration it extends with the module of the shapes dataset type.
_base_ = '../../../../configs/_base_/tasks/segmentation.py'
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'projects.shapes_demo.shapes.segmentation'],
                      allow_failed_imports=False)
data_root = 'data/shapes/seg'
# Inside the model, as mmseg's init_model and MMSegInferencer build cfg.model alone.
model = dict(data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                                    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64)))
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(type='ShapesSegDataset', data_root=data_root,
                 data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ShapesSegDataset', data_root=data_root,
                 data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
                 pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

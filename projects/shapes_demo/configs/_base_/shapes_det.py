# The embedded shapes detection set in COCO layout (4 categories, 2-4 shapes per 128 px image, overlaps occlude,
# polygon masks of the visible parts), generated into data/shapes/det.
# Builds on the detection task, whose integration it extends with the module of the shapes dataset type.
_base_ = '../../../../configs/_base_/tasks/detection.py'
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'projects.shapes_demo.shapes.detection'],
                      allow_failed_imports=False)
data_root = 'data/shapes/det/'
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),  # a no-op at 128 px that records the scale factor
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableInfiniteSampler', shuffle=True),
    dataset=dict(type='ShapesDetDataset', data_root=data_root, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ShapesDetDataset', data_root=data_root, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

# The embedded shapes classification set (16 classes: colour x shape x top/bottom), 64 px, generated into
# data/shapes/cls by tools/data/make_shapes.py (make demo does it).
# Builds on the classification task, whose integration it extends with the module of the shapes dataset type.
_base_ = '../../../../configs/_base_/tasks/classification.py'
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'projects.shapes_demo.shapes.classification'],
                      allow_failed_imports=False)
data_root = 'data/shapes/cls'
data_preprocessor = dict(num_classes=16, mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # left/right does not change the class
    dict(type='PackInputs'),
]
# Every test image at the training size: a batch is padded to its largest image and InternViT attends to padding,
# so one odd-sized image would change the predictions of the others in its batch.
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='CheckImageSize'), dict(type='Resize', scale=(64, 64)),
                 dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='ShapesClsDataset', data_root=data_root, ann_file='meta/train.txt', data_prefix='train',
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ShapesClsDataset', data_root=data_root, ann_file='meta/val.txt', data_prefix='val',
                 pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

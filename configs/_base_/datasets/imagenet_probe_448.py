# ImageNet-1K for probes of the 448 px backbones (300M, 6B-448px): the 224 px recipe at 448 px.
_base_ = './imagenet_probe_224.py'
img_size = 448
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='RandomResizedCrop', scale=img_size, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# ImageNet-1K validation for zero-shot classification, preprocessed as InternVL's evaluation does (bicubic resize of
# the short side to 224, centre crop). The model scores each image against the 1000 curated CLIP class names in
# the 80 OpenAI templates (model.zero_shot).
data_root = 'data/imagenet'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='ResizeEdge', scale=224, edge='short', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root=data_root, split='val', pipeline=test_pipeline),
)
test_evaluator = dict(type='ZeroShotAccuracy', topk=(1, 5))
test_cfg = dict()

# Few-shot ADE20K on 1/8 of the training images: 10000 iterations, 200 warm-up.
_base_ = './linear_internvit-6b-224px_8xb2_ade20k-504x504-fewshot.py'
train_dataloader = dict(dataset=dict(fraction=1 / 8))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=200),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=200, end=10000),
]
train_cfg = dict(max_iters=10000, val_interval=2000)

# Few-shot ADE20K on 1/16 of the training images: 5000 iterations, 100 warm-up.
_base_ = './linear_internvit-6b-224px_8xb2_ade20k-504x504-fewshot.py'
train_dataloader = dict(dataset=dict(fraction=1 / 16))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=5000),
]
train_cfg = dict(max_iters=5000, val_interval=1000)

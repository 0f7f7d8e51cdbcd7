# Few-shot ADE20K on 1/2 of the training images: 40000 iterations, 800 warm-up.
_base_ = './linear_internvit-6b-224px_8xb2_ade20k-504x504-fewshot.py'
train_dataloader = dict(dataset=dict(fraction=1 / 2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=800),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=800, end=40000),
]
train_cfg = dict(max_iters=40000, val_interval=8000)

# The paper's probe schedule: SGD (momentum 0.9, Nesterov), lr 0.1 per 512 images (0.2 at batch 1024), no weight
# decay, 10 epochs with 1 linear warm-up epoch then cosine, EMA of the head. On another total batch, keep the
# 0.1-per-512 rule with `tools/train.py CONFIG --auto-scale-lr`.
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, by_epoch=True, begin=1, end=10, eta_min=0.0,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# EMA (decay 0.998) of the trainable head only; the frozen backbone is not copied.
custom_hooks = [dict(type='TrainableEMAHook', momentum=0.002)]
auto_scale_lr = dict(base_batch_size=1024)
# The BatchNorm of the probe becomes SyncBN when training on several GPUs.
sync_bn = 'torch'

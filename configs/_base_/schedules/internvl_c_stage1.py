# Stage 1 (InternVL-C, contrastive), the paper's Table 20: AdamW (0.9, 0.95), weight decay 0.1, peak lr 1e-3 for
# InternViT and the projectors and 1e-4 for the text side (QLLaMA, text_projection), 5k warm-up iterations, cosine
# decay, 175k iterations at a global batch of 164K (e.g. 640 GPUs x 256).
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1),
    paramwise_cfg=dict(custom_keys={'qllama': dict(lr_mult=0.1), 'text_projection': dict(lr_mult=0.1)}),
)
warmup_iters = 5000
max_iters = 175000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters, eta_min=0.0),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(base_batch_size=163840, enable=False)

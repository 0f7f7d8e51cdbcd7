# Stage 2 (InternVL-G, generative), the paper's Table 20: InternViT and the LLaMA frozen; the queries,
# cross-attention, clip_projector2, itm_head and logit_scale train with AdamW (0.9, 0.98), weight decay 0.05, peak
# lr 5e-5, 2k warm-up iterations, cosine decay, 80k iterations at a global batch of 20K (e.g. 160 GPUs x 128).
optim_wrapper = dict(
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.98), weight_decay=0.05),
)
warmup_iters = 2000
max_iters = 80000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters, eta_min=0.0),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
auto_scale_lr = dict(base_batch_size=20480, enable=False)

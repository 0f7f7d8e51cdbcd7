# Stage 2 on the shapes captions, from the stage-1 demo checkpoint (model.init_cfg.checkpoint): 8 queries with
# cross-attention in every second QLLaMA layer, clip_projector2, itm_head and an lm_head are added; InternViT and
# the LLaMA are frozen. The paper's LLaMA brings a trained LM head; the demo's stage 1 has none, so its new one
# trains too. A couple of hundred iterations show ITC, ITM (hard negatives) and ITG falling; the evaluation uses the
# InternVL-G image embedding.
_base_ = './internvl-c_internvit-demo_shapes-caption.py'
model = dict(
    num_query_token=8,
    mode='InternVL-G',
    losses=('itc', 'itm', 'itg'),
    trainable=('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head', 'logit_scale',
               'qllama.lm_head'),
    init_cfg=dict(type='Pretrained', checkpoint='work_dirs/demo/pretraining-c/epoch_9.pth',
                  allow_missing=('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head',
                                 'qllama.lm_head')),
)
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=[  # one process (stage 1 runs two ranks of 64)
    dict(type='SeedFromSampleIndex'),
    dict(type='LoadImageFromFileOrTar'),
    dict(type='TokenizeCaption', tokenizer={{_base_.tokenizer}}, max_length={{_base_.max_txt_len}},
         tasks=('itc', 'itm', 'itg')),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'itm_ids', 'itg_ids', 'itg_labels']),
]))
optim_wrapper = dict(optimizer=dict(lr=1e-3, betas=(0.9, 0.98), weight_decay=0.05))
max_iters = 200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end=max_iters, eta_min=1e-5),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)

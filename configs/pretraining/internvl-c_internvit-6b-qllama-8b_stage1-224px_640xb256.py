# The end of stage 1: the last 0.5B samples at 224 px (about 3k iterations of 164K), from the 196 px checkpoint
# (the ViT position embedding is resized when it is loaded).
_base_ = [
    '../_base_/models/internvl_c_14b.py',
    '../_base_/datasets/image_text_webdataset_224.py',
    '../_base_/schedules/internvl_c_stage1.py',
    '../_base_/tasks/pretraining.py',
]
model = dict(
    backbone=dict(drop_path_rate=0.2),
    num_query_token=0,
    init_cfg=dict(type='Pretrained', checkpoint='work_dirs/internvl-c_internvit-6b-qllama-8b_stage1-196px_640xb256/'
                  'iter_175000.pth'),
)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SeedFromSampleIndex'),
    dict(type='LoadImageFromFileOrTar'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='TokenizeCaption', tokenizer={{_base_.tokenizer}}, max_length=80, tasks=('itc', )),
    dict(type='PackInputs', algorithm_keys=['text_ids']),
]))
warmup_iters = 200
max_iters = 3000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters, eta_min=0.0),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)

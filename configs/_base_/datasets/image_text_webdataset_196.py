# Image-text pretraining pairs in WebDataset tar shards (KEY.jpg + KEY.txt), 196 px (stage 1; the paper's
# LAION-en/multi, COYO, Wukong, CC3M/12M, SBU mixture, 4.98B pairs after filtering). The shards are indexed once at
# start-up; the tokenizer is the release's (summarize: prefix, 80 tokens, added by TokenizeCaption).
data_root = 'data/pretrain'
tokenizer = 'data/InternVL-14B-224px'
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFileOrTar'),
    dict(type='RandomResizedCrop', scale=196, crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=80, tasks=('itc', )),
    dict(type='PackInputs', algorithm_keys=['text_ids']),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='ImageTextDataset', data_root=data_root, ann_file='shards/{000000..099999}.tar',
                 pipeline=train_pipeline),
)

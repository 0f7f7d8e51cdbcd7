# The same pairs at 224 px (the end of stage 1, and stage 2 with the ITM / ITG encodings as well).
_base_ = './image_text_webdataset_196.py'
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFileOrTar'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='TokenizeCaption', tokenizer={{_base_.tokenizer}}, max_length=80, tasks=('itc', 'itm', 'itg')),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'itm_ids', 'itg_ids', 'itg_labels']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# Flickr30K 1K test split (Karpathy): 1,000 images with 5 captions each, as one JSON list of
# {"image": "xxx.jpg", "caption": [5 captions]}; square bicubic resize to 224 (InternVL's retrieval transform).
data_root = 'data/flickr30k'
tokenizer = 'data/InternVL-14B-224px'
test_pipeline = [
    dict(type='LoadImageFromFileOrTar'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
    dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=80, tasks=('itc', ), all_captions=True),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id']),
]
test_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageTextDataset', data_root=data_root, ann_file='annotations/flickr30k_test_karpathy.json',
                 data_prefix=dict(img_path='flickr30k-images'), pipeline=test_pipeline),
)
test_evaluator = dict(type='ImageTextRetrieval', topk=(1, 5, 10))
test_cfg = dict()

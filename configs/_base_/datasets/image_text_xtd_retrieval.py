# XTD10 (multilingual COCO, 1,000 images with one caption per language) as the official evaluation reads it:
# clip_benchmark's multilingual_mscoco_captions-LANG.json under data/mscoco_captions (images in its train2014/ and
# val2014/). Captions are tokenised as they are (the official XTD run has no caption normalisation). The paper
# reports image->text R@10 (clip_benchmark's text_retrieval_recall@10) per language. Square bicubic resize to 224
# with Pillow (antialiased, as the official torchvision transform).
_base_ = './image_text_flickr30k_retrieval.py'
language = 'en'
test_pipeline = [
    dict(type='LoadImageFromFileOrTar'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='pillow'),
    dict(type='TokenizeCaption', tokenizer={{_base_.tokenizer}}, max_length=80, tasks=('itc', ), all_captions=True),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id']),
]
test_dataloader = dict(dataset=dict(_delete_=True, type='RetrievalCaptionFile', data_root='data/mscoco_captions',
                                    ann_file=f'multilingual_mscoco_captions-{language}.json', ann_format='xtd',
                                    data_prefix=dict(img_path=''), pipeline=test_pipeline))

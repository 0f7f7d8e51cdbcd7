# Flickr30K-CN 1K test split as the official evaluation reads it: clip_benchmark's flickr30k_cn_test.txt (header,
# then "IMAGE.jpg,CAPTION", 5 human-translated Chinese captions per image) under data/flickr30k, images in
# data/flickr30k/Images. Captions are normalised as there (NormaliseCaptions: lower case, ASCII punctuation to
# spaces, at most 50 words) before tokenising; square bicubic resize to 224 with Pillow, as the official transform
# (torchvision's Resize on PIL images: bicubic *with* antialiasing; OpenCV's bicubic, mmcv's default backend, does
# not antialias, and a 500 px photo shrunk to 224 px without it is a different input).
_base_ = './image_text_flickr30k_retrieval.py'
test_pipeline = [
    dict(type='LoadImageFromFileOrTar'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='pillow'),
    dict(type='NormaliseCaptions', max_words=50),
    dict(type='TokenizeCaption', tokenizer={{_base_.tokenizer}}, max_length=80, tasks=('itc', ), all_captions=True),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id']),
]
test_dataloader = dict(dataset=dict(_delete_=True, type='RetrievalCaptionFile', data_root='data/flickr30k',
                                    ann_file='flickr30k_cn_test.txt', data_prefix=dict(img_path='Images'),
                                    pipeline=test_pipeline))

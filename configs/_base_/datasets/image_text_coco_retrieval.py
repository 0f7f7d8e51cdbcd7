# COCO 5K test split (Karpathy): 5,000 images with ~5 captions each, {"image": "val2014/xxx.jpg", "caption": [...]}.
_base_ = './image_text_flickr30k_retrieval.py'
test_dataloader = dict(dataset=dict(data_root='data/coco', ann_file='annotations/coco_karpathy_test.json',
                                    data_prefix=dict(img_path='')))

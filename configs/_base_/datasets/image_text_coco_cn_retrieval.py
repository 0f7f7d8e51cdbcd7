# COCO-CN test split (1,000 images, Chinese captions) as the official evaluation reads it: clip_benchmark's
# coco-cn_test.json (COCO captions layout, file names like train2014/COCO_train2014_*.jpg) under
# data/mscoco_captions, the images in its train2014/ and val2014/. Captions normalised as there.
_base_ = './image_text_flickr30k_cn_retrieval.py'
test_dataloader = dict(dataset=dict(data_root='data/mscoco_captions', ann_file='coco-cn_test.json',
                                    data_prefix=dict(img_path='')))

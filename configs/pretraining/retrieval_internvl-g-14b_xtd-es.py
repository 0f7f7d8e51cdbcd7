# Zero-shot image-text retrieval on XTD (es) with InternVL-G (numbers: metafile.yml, image->text R@10).
_base_ = './retrieval_internvl-g-14b_xtd-en.py'
test_dataloader = dict(dataset=dict(ann_file='multilingual_mscoco_captions-es.json'))

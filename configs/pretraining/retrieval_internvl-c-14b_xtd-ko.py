# Zero-shot image-text retrieval on XTD (ko) with InternVL-C (numbers: metafile.yml, image->text R@10).
_base_ = './retrieval_internvl-c-14b_xtd-en.py'
test_dataloader = dict(dataset=dict(ann_file='multilingual_mscoco_captions-ko.json'))

# Zero-shot image-text retrieval on COCO-CN with InternVL-G (numbers: metafile.yml).
_base_ = [
    '../_base_/models/internvl_g_14b.py',
    '../_base_/datasets/image_text_coco_cn_retrieval.py',
    '../_base_/tasks/pretraining.py',
]

# Zero-shot image-text retrieval on XTD (English) with InternVL-G; the other languages inherit this config
# (numbers: metafile.yml, image->text R@10).
_base_ = [
    '../_base_/models/internvl_g_14b.py',
    '../_base_/datasets/image_text_xtd_retrieval.py',
    '../_base_/tasks/pretraining.py',
]

# Zero-shot image-text retrieval on the flickr30k test split with InternVL-G (numbers: README.md):
#   python tools/test.py configs/pretraining/retrieval_internvl-g-14b_flickr30k.py data/InternVL-14B-224px
_base_ = [
    '../_base_/models/internvl_g_14b.py',
    '../_base_/datasets/image_text_flickr30k_retrieval.py',
    '../_base_/tasks/pretraining.py',
]

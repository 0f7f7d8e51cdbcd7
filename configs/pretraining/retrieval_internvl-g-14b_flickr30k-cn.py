# Zero-shot image-text retrieval on Flickr30K-CN with InternVL-G (numbers: metafile.yml):
#   python tools/test.py configs/pretraining/retrieval_internvl-g-14b_flickr30k-cn.py data/InternVL-14B-224px
_base_ = [
    '../_base_/models/internvl_g_14b.py',
    '../_base_/datasets/image_text_flickr30k_cn_retrieval.py',
    '../_base_/tasks/pretraining.py',
]

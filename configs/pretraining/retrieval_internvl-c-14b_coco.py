# Zero-shot image-text retrieval on the coco test split with InternVL-C (numbers: README.md):
#   python tools/test.py configs/pretraining/retrieval_internvl-c-14b_coco.py data/InternVL-14B-224px
_base_ = [
    '../_base_/models/internvl_c_14b.py',
    '../_base_/datasets/image_text_coco_retrieval.py',
    '../_base_/tasks/pretraining.py',
]

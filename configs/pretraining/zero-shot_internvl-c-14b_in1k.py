# Zero-shot ImageNet-1K with InternVL-C (paper: 83.2 top-1):
#   python tools/test.py configs/pretraining/zero-shot_internvl-c-14b_in1k.py data/InternVL-14B-224px
_base_ = [
    '../_base_/models/internvl_c_14b.py',
    '../_base_/datasets/image_text_imagenet_zeroshot.py',
    '../_base_/tasks/pretraining.py',
]
model = dict(zero_shot=dict(class_names='imagenet', templates='openai_imagenet'))

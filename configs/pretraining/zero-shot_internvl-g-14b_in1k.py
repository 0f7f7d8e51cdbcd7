# Zero-shot ImageNet-1K with InternVL-G (not reported in the paper).
_base_ = './zero-shot_internvl-c-14b_in1k.py'
model = dict(mode='InternVL-G')

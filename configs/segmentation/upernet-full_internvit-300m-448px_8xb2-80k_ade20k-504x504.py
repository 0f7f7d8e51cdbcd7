# The InternViT-300M-448px version of upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py (no paper number).
_base_ = ['./upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '../_base_/models/internvit_300m_segmentation.py']
model = {{_base_.internvit_300m_upernet}}

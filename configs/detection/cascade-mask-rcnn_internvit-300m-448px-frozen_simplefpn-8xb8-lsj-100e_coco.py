# The InternViT-300M-448px version of cascade-mask-rcnn_internvit-6b-224px-frozen_simplefpn-8xb8-lsj-100e_coco.py.
_base_ = ['./cascade-mask-rcnn_internvit-6b-224px-frozen_simplefpn-8xb8-lsj-100e_coco.py',
          '../_base_/models/internvit_300m_detection.py']
model = {{_base_.internvit_300m}}

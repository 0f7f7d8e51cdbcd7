# cascade-mask-rcnn fully fine-tuning InternViT-6B with DeepSpeed ZeRO-2 in bf16 (optimizer states and gradients sharded).
_base_ = ['./cascade-mask-rcnn_internvit-6b-224px_simplefpn-8xb8-lsj-100e_coco.py', '../_base_/strategies/zero2.py']

# Mask R-CNN with LoRA on InternViT-6B (rank 16 on qkv / proj / fc1 / fc2 of every block; the base frozen and run in
# bf16, adapters, SimpleFPN and heads in fp32), ViTDet-style: window attention, LSJ 1024, 100 epochs. The adapters
# take a 10x higher learning rate than full tuning, with layer-wise decay by block depth.
_base_ = ['./mask-rcnn_internvit-6b-224px_simplefpn-8xb8-lsj-100e_coco.py', '../_base_/peft/lora.py']
model = dict(backbone=dict(adapter=_base_.adapter, drop_path_rate=0.1))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
custom_hooks = [dict(type='BF16BackboneHook')]

# The segmentation demo with LoRA instead of full tuning: the classification demo's InternViT stays frozen, rank-16
# adapters on its four linears per block (configs/_base_/peft/lora.py) train with the neck and UperNet head, at a
# higher learning rate than full tuning (adapters start at zero and move the frozen base only through low rank).
_base_ = ['./upernet-full_internvit-demo_shapes-seg.py', '../../../../configs/_base_/peft/lora.py']
model = dict(backbone=dict(adapter=_base_.adapter))
optim_wrapper = dict(optimizer=dict(lr=3e-3))

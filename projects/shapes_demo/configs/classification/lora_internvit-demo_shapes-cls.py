# LoRA on the classification demo's InternViT: the backbone starts from the full-tuning run's checkpoint and stays
# frozen; rank-16 adapters on qkv / proj / fc1 / fc2 of every block and the head train (configs/_base_/peft/lora.py).
_base_ = ['./full-ft_internvit-demo_shapes-cls.py', '../../../../configs/_base_/peft/lora.py']
model = dict(backbone=dict(
    adapter=_base_.adapter,
    init_cfg=dict(type='Pretrained', checkpoint='work_dirs/demo/classification/epoch_8.pth', prefix='backbone.')))

# InternViT-6B + UperNet on ADE20K with LoRA on the backbone (rank 16 on qkv / proj / fc1 / fc2 of all 48 blocks,
# 0.2% of its weights) instead of full tuning: fits one 24 GB GPU with checkpointing (tools/analysis/memory_plan.py).
# The frozen base runs in bf16 (BF16BackboneHook); adapters, neck and heads train in fp32 at a 10x higher LR than
# full tuning, still with layer-wise decay by block depth. See configs/segmentation/README.md for the choices.
_base_ = ['./upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '../_base_/peft/lora.py']
model = dict(backbone=dict(adapter=_base_.adapter, drop_path_rate=0.1))
optim_wrapper = dict(optimizer=dict(lr=4e-4), paramwise_cfg=dict(layer_decay_rate=0.95))
custom_hooks = [dict(type='BF16BackboneHook')]

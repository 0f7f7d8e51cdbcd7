# InternViT-6B-224px on ImageNet-1K with LoRA on the backbone (rank 16 on qkv / proj / fc1 / fc2, all 48 blocks) and
# the linear probe's head, AdamW: the frozen base runs in bf16 (BF16BackboneHook); adapters and head train in fp32.
# See configs/classification/README.md for the rank and learning-rate choices.
_base_ = ['./linear-probe_internvit-6b-224px_8xb128_in1k.py', '../_base_/peft/lora.py']
model = dict(backbone=dict(adapter=_base_.adapter, frozen_stages=-1, with_cp=True))
optim_wrapper = dict(
    _delete_=True,
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.9),
)
custom_hooks = [*_base_.custom_hooks, dict(type='BF16BackboneHook')]  # EMA of adapters + head, bf16 base

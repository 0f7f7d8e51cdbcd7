# Stage 2 under DeepSpeed ZeRO-2 (gradients and optimizer states of the 1B trainable parameters sharded; the frozen
# InternViT and LLaMA replicated in bf16), with activation checkpointing of the QLLaMA layers.
_base_ = [
    './internvl-g_internvit-6b-qllama-8b_stage2-224px_160xb128.py',
    '../_base_/strategies/zero2.py',
]
model = dict(qllama=dict(with_cp=True))

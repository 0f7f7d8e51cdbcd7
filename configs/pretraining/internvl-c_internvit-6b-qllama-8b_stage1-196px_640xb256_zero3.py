# Stage 1 under DeepSpeed ZeRO-3 (parameters, gradients and optimizer states sharded; bf16), with activation
# checkpointing of every InternViT block and QLLaMA layer: how a 13B model trains on 80 GB GPUs.
_base_ = [
    './internvl-c_internvit-6b-qllama-8b_stage1-196px_640xb256.py',
    '../_base_/strategies/zero3.py',
]
model = dict(backbone=dict(with_cp=True), qllama=dict(with_cp=True))

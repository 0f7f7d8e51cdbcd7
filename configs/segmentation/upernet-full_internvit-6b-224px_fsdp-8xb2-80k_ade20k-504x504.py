# InternViT-6B full tuning on ADE20K with PyTorch FSDP (block-level sharding, bf16 compute).
_base_ = ['./upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '../_base_/strategies/fsdp.py']

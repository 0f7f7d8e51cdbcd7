# InternViT-6B full tuning on ADE20K with DeepSpeed ZeRO-1 in bf16 (as the official runs), the way to fit 6B
# parameters and their AdamW states on 8 x 80 GB. See tools/analysis/memory_plan.py for the other strategies.
_base_ = ['./upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '../_base_/strategies/zero1.py']

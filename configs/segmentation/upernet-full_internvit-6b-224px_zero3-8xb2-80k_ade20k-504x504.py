# InternViT-6B full tuning on ADE20K with ZeRO-3 (parameters sharded too): the most headroom per GPU.
_base_ = ['./upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '../_base_/strategies/zero3.py']

# InternViT-300M-448px attention-pooling probe on ImageNet-1K (16 heads over 1024-d tokens).
_base_ = './linear-probe_internvit-300m-448px_8xb128_in1k.py'
model = dict(
    backbone=dict(out_type='raw'),
    head=dict(in_channels=1024, attention_pooling=dict(num_heads=16)),
)

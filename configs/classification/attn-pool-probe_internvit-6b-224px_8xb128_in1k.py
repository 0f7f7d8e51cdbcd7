# InternViT-6B-224px attention-pooling probe on ImageNet-1K: all tokens -> attention pooling (25 heads) -> BN -> fc.
_base_ = './linear-probe_internvit-6b-224px_8xb128_in1k.py'
model = dict(
    backbone=dict(out_type='raw'),
    head=dict(in_channels=3200, attention_pooling=dict(num_heads=25)),
)

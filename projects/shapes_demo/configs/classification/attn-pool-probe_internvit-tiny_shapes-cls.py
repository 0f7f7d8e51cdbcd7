# The attention-pooling probe on the shapes set: frozen InternViT tokens -> attention pooling -> BN -> fc.
_base_ = './linear-probe_internvit-tiny_shapes-cls.py'
model = dict(
    backbone=dict(out_type='raw'),
    head=dict(in_channels=64, attention_pooling=dict(num_heads=2)),
)

# InternViT-300M-448px linear probe on ImageNet-1K at 448 px (cls ++ mean patch token = 2 x 1024).
_base_ = [
    '../_base_/models/internvit_linear_probe.py',
    '../_base_/datasets/imagenet_probe_448.py',
    '../_base_/schedules/probe_sgd_10e.py',
    '../_base_/tasks/classification.py',
]
model = dict(
    backbone=dict(arch='300m', init_cfg=dict(checkpoint='zoo://internvit-300m-448px')),
    head=dict(in_channels=2048),
)

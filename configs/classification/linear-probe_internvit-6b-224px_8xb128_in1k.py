# InternViT-6B-224px linear probe on ImageNet-1K (paper: 88.2 top-1), 8 GPUs x 128 images.
_base_ = [
    '../_base_/models/internvit_linear_probe.py',
    '../_base_/datasets/imagenet_probe_224.py',
    '../_base_/schedules/probe_sgd_10e.py',
    '../_base_/tasks/classification.py',
]

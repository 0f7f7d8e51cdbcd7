# feature_extractor.py at 448 px (the 448 px releases: 6B-448px V1.2+ and 300M), with the 448 px probes' pipeline.
_base_ = ['../../_base_/tasks/classification.py', '../../_base_/datasets/imagenet_probe_448.py',
          './feature_extractor_model.py']
model = dict(backbone=dict(img_size=448))

# InternViT-6B-448px-V1-2
# as a feature extractor: the Config of this release for mim download (see _base_/feature_extractor.py)
_base_ = './_base_/feature_extractor_448.py'
arch = '6b-448'
release = 'zoo://internvit-6b-448px-v1-2'
model = dict(backbone=dict(arch=arch, init_cfg=dict(checkpoint=release)))

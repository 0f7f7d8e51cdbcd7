# InternViT-300M-448px
# as a feature extractor: the Config of this release for mim download (see _base_/feature_extractor.py)
_base_ = './_base_/feature_extractor_448.py'
arch = '300m'
release = 'zoo://internvit-300m-448px'
model = dict(backbone=dict(arch=arch, init_cfg=dict(checkpoint=release)))

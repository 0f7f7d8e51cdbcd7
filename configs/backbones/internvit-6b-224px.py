# InternViT-6B-224px (InternVL 1.0)
# as a feature extractor: the Config of this release for mim download (see _base_/feature_extractor.py)
_base_ = './_base_/feature_extractor.py'
arch = '6b-224'
release = 'zoo://internvit-6b-224px'
model = dict(backbone=dict(arch=arch, init_cfg=dict(checkpoint=release)))

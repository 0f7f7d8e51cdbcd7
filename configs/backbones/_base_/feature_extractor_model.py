# The model of feature_extractor.py: a release's InternViT as an mmpretrain ImageClassifier without neck or head.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='InternViT', out_type='cls_token', init_cfg=dict(type='Pretrained')),
    neck=None,
    head=None,
)

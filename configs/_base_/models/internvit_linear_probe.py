# The paper's linear probe: frozen InternViT-6B-224px, feature = [cls token, mean patch token] (2 x 3200),
# BatchNorm1d (eps 1e-6) -> Linear (N(0, 0.01) init).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='InternViT',
        arch='6b-224',
        out_type='cls_patch_concat',
        frozen_stages='all',
        init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px')),
    head=dict(
        type='ProbeClsHead',
        num_classes=1000,
        in_channels=6400,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
)

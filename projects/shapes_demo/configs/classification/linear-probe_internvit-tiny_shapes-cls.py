# The paper's linear probe on the shapes set: frozen InternViT, [cls, mean patch] -> BN -> fc, SGD + EMA as in
# configs/_base_/schedules/probe_sgd_10e.py. Point model.backbone.init_cfg at trained weights to probe them.
_base_ = [
    '../../../../configs/_base_/schedules/probe_sgd_10e.py',
    '../_base_/shapes_cls.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='InternViT', arch='tiny', img_size=64, patch_size=8, out_type='cls_patch_concat',
                  frozen_stages='all'),
    head=dict(type='ProbeClsHead', num_classes=16, in_channels=128, topk=(1, 5)),
)
optim_wrapper = dict(optimizer=dict(lr=0.1))
sync_bn = None

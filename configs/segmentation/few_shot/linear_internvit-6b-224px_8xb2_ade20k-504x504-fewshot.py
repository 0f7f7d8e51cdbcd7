# Few-shot ADE20K (paper: 1/16 46.5, 1/8 50.0, 1/4 53.3, 1/2 55.8, full 57.2 mIoU): the linear head on the last
# block, backbone trained with drop path 0.4 and layer decay 0.95, on a fixed random fraction of the training set.
# This is the full-data run (80k iterations); the 1ofN configs shrink the data and the schedule.
_base_ = [
    '../../_base_/models/internvit_linear_seg.py',
    '../../_base_/datasets/ade20k_504.py',
    '../../_base_/schedules/seg_adamw_poly_80k.py',
    '../../_base_/tasks/segmentation.py',
]
model = dict(backbone=dict(frozen_stages=-1, drop_path_rate=0.4, with_cp=True))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.95))
train_dataloader = dict(dataset=dict(_delete_=True, type='FractionSubset', fraction=1.0, seed=0,
                                     dataset={{_base_.train_dataloader.dataset}}))

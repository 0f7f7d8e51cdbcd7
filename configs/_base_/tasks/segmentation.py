_base_ = '../default_runtime.py'
custom_imports = dict(imports=['internvl_mm', 'internvl_mm.integrations.segmentation'], allow_failed_imports=False)
default_scope = 'mmseg'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
visualizer = dict(type='SegLocalVisualizer', vis_backends={{_base_.vis_backends}}, name='visualizer')
log_processor = dict(by_epoch=False)
# Test-time augmentation for `tools/test.py --tta` (as mmseg's configs: multi-scale + horizontal flip, the
# predictions' logits averaged by SegTTAModel). Every segmentation dataset here loads with LoadImageFromFile +
# CheckImageSize and
# reduces the zero label; a dataset that differs overrides tta_pipeline.
tta_model = dict(type='SegTTAModel')
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CheckImageSize'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
                     [dict(type='RandomFlip', prob=0., direction='horizontal'),
                      dict(type='RandomFlip', prob=1., direction='horizontal')],
                     [dict(type='LoadAnnotations', reduce_zero_label=True)],
                     [dict(type='PackSegInputs')]]),
]

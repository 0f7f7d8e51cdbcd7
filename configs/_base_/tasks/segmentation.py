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

_base_ = '../default_runtime.py'
custom_imports = dict(imports=['internvl_mm', 'internvl_mm.integrations.detection'], allow_failed_imports=False)
default_scope = 'mmdet'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # log_metric_by_epoch=False: the loop is iteration-based, so val metrics go to TensorBoard at their iteration
    # (by epoch they all landed at step 0, the never-advanced epoch)
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
)
visualizer = dict(type='DetLocalVisualizer', vis_backends={{_base_.vis_backends}}, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)

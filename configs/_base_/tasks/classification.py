_base_ = '../default_runtime.py'
custom_imports = dict(imports=['internvl_mm', 'internvl_mm.integrations.classification'], allow_failed_imports=False)
default_scope = 'mmpretrain'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
visualizer = dict(type='UniversalVisualizer', vis_backends={{_base_.vis_backends}})

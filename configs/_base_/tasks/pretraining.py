# InternVL-C / InternVL-G pretraining and zero-shot evaluation: iteration-based runs, mmpretrain's scope (its
# transforms, data preprocessor, DataSample and visualizer; the VisualizationHook draws zero-shot predictions).
_base_ = '../default_runtime.py'
custom_imports = dict(imports=['internvl_mm', 'internvl_mm.integrations.pretraining'], allow_failed_imports=False)
default_scope = 'mmpretrain'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
log_processor = dict(by_epoch=False)
visualizer = dict(type='UniversalVisualizer', vis_backends={{_base_.vis_backends}})

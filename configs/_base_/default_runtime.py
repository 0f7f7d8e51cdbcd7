# Shared by every internvl_mm config. `custom_imports` makes internvl_mm's toolbox-independent modules (backbone,
# neck, hooks, optimizer constructors, ...) visible to mmpretrain / mmseg / mmdet registries; each task base
# (tasks/*.py) adds its toolbox's modules (internvl_mm.integrations.<task>: heads, datasets).
custom_imports = dict(imports=['internvl_mm'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; on machines without CUDA internvl_mm.compat falls back to gloo.
    dist_cfg=dict(backend='nccl'),
)
# Text logs and TensorBoard event files side by side in the work dir.
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
# Adapter-tuned backbones (model.backbone.adapter) save adapters + head only; a no-op for every other model.
default_hooks = dict(adapter_checkpoint=dict(type='AdapterCheckpointHook'))
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

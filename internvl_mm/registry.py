"""How internvl_mm's modules become visible to mmpretrain, mmseg and mmdet configs.

Every internvl_mm module registers into mmengine's *root* registries, re-exported here. The registries of
mmpretrain, mmseg and mmdet are children of these roots, and a child that does not know a name asks its parents,
so ``backbone=dict(type='InternViT')`` resolves in any toolbox scope with no per-config boilerplate. All it takes is
that ``internvl_mm`` is imported: the tools do it, and every config inherits
``custom_imports = dict(imports=['internvl_mm'])`` from ``configs/_base_/default_runtime.py``.
(Our names must not collide with a toolbox's own names, which would take precedence in that toolbox.)
"""
from mmengine.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, HOOKS, LOOPS, METRICS, MODELS,
                               OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, RUNNERS,
                               STRATEGIES, TRANSFORMS, VISUALIZERS)

__all__ = [
    'DATA_SAMPLERS', 'DATASETS', 'EVALUATOR', 'HOOKS', 'LOOPS', 'METRICS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'RUNNERS', 'STRATEGIES', 'TRANSFORMS', 'VISUALIZERS'
]

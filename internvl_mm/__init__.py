"""internvl_mm: InternViT (InternVL) as a first-class OpenMMLab backbone.

Importing the package applies the stack's compatibility fixes (:mod:`internvl_mm.compat`) and registers the
toolbox-independent modules into mmengine's root registries (:mod:`internvl_mm.registry`), where mmpretrain, mmseg
and mmdet configs find them: InternViT, the feature-pyramid neck, attention pooling, InternVL-C/G and QLLaMA, the
image-text datasets and transforms, metrics, hooks, optimizer constructors, strategies and ``zoo://``. It imports
neither mmseg nor mmdet. The modules built on a toolbox's classes (the probe heads, the ImageNet robustness sets)
are registered by that task's :mod:`internvl_mm.integrations` module, which each task base config imports.

The library entry points of :mod:`internvl_mm.apis` are exported here, timm / open_clip style:
``create_model``, ``create_model_and_transforms`` and ``get_tokenizer``.
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registration after the fixes)
from . import zoo  # noqa: E402,F401  (zoo:// for init_cfg and load_from)
from .apis import create_model, create_model_and_transforms, get_tokenizer  # noqa: E402  (timm / open_clip style)

__version__ = '0.1.0'
__all__ = ['create_model', 'create_model_and_transforms', 'get_tokenizer', '__version__']

"""internvl_mm: InternViT (InternVL) as a first-class OpenMMLab backbone.

Importing the package applies the stack's compatibility fixes (:mod:`internvl_mm.compat`) and registers every
module into mmengine's root registries (:mod:`internvl_mm.registry`), where mmpretrain, mmseg and mmdet configs
find them.
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registration after the fixes)
from . import zoo  # noqa: E402,F401  (zoo:// for init_cfg and load_from)

__version__ = '0.1.0'

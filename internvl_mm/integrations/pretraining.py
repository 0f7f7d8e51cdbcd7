"""The pretraining (InternVL-C / InternVL-G, mmpretrain scope) modules: none yet. ``InternVL``, QLLaMA, the
image-text datasets, transforms and metrics need no toolbox and are registered by ``import internvl_mm``
(``InternVL`` imports mmpretrain's ``DataSample`` when it runs); a module that subclasses mmpretrain's classes for
pretraining belongs here.

Imported by every config built on ``configs/_base_/tasks/pretraining.py``: importing mmpretrain here makes a config
fail when it is loaded, naming mmpretrain, if mmpretrain is missing.
"""
import mmpretrain  # noqa: F401
# The ImageNet robustness sets (built on mmpretrain's datasets), for the zero-shot robustness configs.
from internvl_mm.datasets import imagenet_variants  # noqa: F401,E402

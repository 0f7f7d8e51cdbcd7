"""Models that need no toolbox: InternViT, the feature-pyramid neck, attention pooling, QLLaMA, InternVL-C/G.
The toolbox heads are registered by :mod:`internvl_mm.integrations` (see :mod:`internvl_mm.models.heads`)."""
from .backbones import InternViT, convert_checkpoint_key
from .backbones.intern_vit import find_internvit
from .heads import AttentionPooling
from .necks import ViTFeaturePyramid
from . import language, pretrainers  # noqa: F401,E402  (QLLaMA; InternVL-C/G)

__all__ = ['AttentionPooling', 'InternViT', 'ViTFeaturePyramid', 'convert_checkpoint_key', 'find_internvit']

from . import shapes
from .imagenet_variants import ImageNetReaL, ImageNetVariantFolder

__all__ = ['ImageNetReaL', 'ImageNetVariantFolder', 'shapes']

from . import shapes
from .imagenet_variants import ImageNetReaL, ImageNetVariantFolder
from .subset import FractionSubset
from . import image_text, transforms  # noqa: F401,E402  (image-text pairs, LoadImageFromFileOrTar, TokenizeCaption)

__all__ = ['FractionSubset', 'ImageNetReaL', 'ImageNetVariantFolder', 'shapes']

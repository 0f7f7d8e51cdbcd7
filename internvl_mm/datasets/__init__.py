"""Toolbox-independent datasets and transforms. The ImageNet robustness sets (``imagenet_variants``, built on
mmpretrain's datasets) are imported by :mod:`internvl_mm.integrations.classification`."""
from .resumable import ResumableInfiniteSampler, ResumableSampler, SampleIndex, SeedFromSampleIndex
from .subset import FractionSubset
from . import image_text, transforms  # noqa: F401,E402  (image-text pairs, LoadImageFromFileOrTar, TokenizeCaption)
from . import caption_files, captions, objectnet, video  # noqa: F401,E402  (official retrieval files, caption
# normalisation, ObjectNet, videos decoded with PyAV)

__all__ = ['FractionSubset', 'ResumableInfiniteSampler', 'ResumableSampler', 'SampleIndex', 'SeedFromSampleIndex']

from .imagenet import ReaLAccuracy, SubsetAccuracy
from . import retrieval, zero_shot  # noqa: F401,E402  (ImageTextRetrieval, ZeroShotAccuracy)

__all__ = ['ReaLAccuracy', 'SubsetAccuracy']

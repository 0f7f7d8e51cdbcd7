from .metrics import ReaLAccuracy, SubsetAccuracy
from .metrics import retrieval, zero_shot  # noqa: F401  (image-text retrieval, zero-shot accuracy)

__all__ = ['ReaLAccuracy', 'SubsetAccuracy']

from .imagenet import ReaLAccuracy, SubsetAccuracy

__all__ = ['ReaLAccuracy', 'SubsetAccuracy']

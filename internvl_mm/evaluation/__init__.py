from .metrics import ReaLAccuracy, SubsetAccuracy

__all__ = ['ReaLAccuracy', 'SubsetAccuracy']

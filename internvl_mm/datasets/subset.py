"""A fixed random fraction of a dataset, for the few-shot recipes (1/16 ... 1/2 of the training set)."""
from typing import Union

import numpy as np
from torch.utils.data import Dataset

from internvl_mm.registry import DATASETS


@DATASETS.register_module()
class FractionSubset(Dataset):
    """``dataset`` restricted to ``round(fraction * len)`` samples drawn without replacement with ``seed``: the
    same subset on every run and every rank (the official code shuffled without a seed)."""

    def __init__(self, dataset: Union[dict, Dataset], fraction: float, seed: int = 0):
        if not 0 < fraction <= 1:
            raise ValueError(f'FractionSubset fraction must be in (0, 1], got {fraction}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        total = len(self.dataset)
        count = max(1, round(total * fraction))
        self.indices = np.sort(np.random.default_rng(seed).choice(total, count, replace=False))
        self.fraction = fraction

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[index])]

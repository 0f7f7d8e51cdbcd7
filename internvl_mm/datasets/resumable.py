"""Random augmentation that a resumed run repeats exactly, whatever the data-loader settings.

mmengine seeds each data-loader worker once, from (seed, rank, worker id). Persistent workers then carry their
random state from epoch to epoch, while the workers of a resumed run start from the first epoch's state: every
augmented sample after a resume differs (and a changed ``num_workers`` changes them too). Here the sampler tags each
index with its place in the sampling stream (seed, epoch, rank, position), and :class:`SeedFromSampleIndex`, first
in the training pipeline, reseeds ``random``, NumPy and torch from that tag before the random transforms run: a
sample's augmentation becomes a function of where it stands in training, not of which worker drew it or when.
"""
import hashlib
import random
from typing import Iterator, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import DefaultSampler, InfiniteSampler

from internvl_mm.errors import InputError
from internvl_mm.registry import DATA_SAMPLERS, TRANSFORMS


class SampleIndex(int):
    """A dataset index that also carries its place in the sampling stream (``key``); it passes through the data
    loader's index queue to the workers (pickled with its key) and through ``get_data_info`` as ``sample_idx``."""

    def __new__(cls, index: int, key: Tuple[int, ...]):
        obj = super().__new__(cls, index)
        obj.key = tuple(int(k) for k in key)
        return obj

    def __reduce__(self):
        return SampleIndex, (int(self), self.key)

    def seed(self) -> int:
        """A 32-bit seed from the key and the index (stable across processes and Python runs)."""
        digest = hashlib.blake2b(repr((*self.key, int(self))).encode(), digest_size=4).digest()
        return int.from_bytes(digest, 'little')


def _refuse_empty(dataset) -> None:
    if len(dataset) == 0:
        where = {k: getattr(dataset, k) for k in ('data_root', 'ann_file') if getattr(dataset, k, None)}
        raise InputError(f'the training dataset {type(dataset).__name__} is empty ({where or "no paths"}); check '
                         f'data_root / ann_file / data_prefix, or the indices it is cut to')


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order, same sharding) whose indices carry (seed, epoch, rank, position)."""

    def __init__(self, dataset, *args, **kwargs):
        _refuse_empty(dataset)
        super().__init__(dataset, *args, **kwargs)

    def __iter__(self) -> Iterator[int]:
        for position, index in enumerate(super().__iter__()):
            yield SampleIndex(index, (self.seed, self.epoch, self.rank, position))


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same stream) whose indices carry (seed, rank, position in the stream); an
    iteration-based resume replays the stream up to its iteration, so positions line up again."""

    def __init__(self, dataset, *args, **kwargs):
        _refuse_empty(dataset)
        super().__init__(dataset, *args, **kwargs)
        self._position = 0

    def __iter__(self) -> Iterator[int]:
        for index in super().__iter__():
            position, self._position = self._position, self._position + 1
            yield SampleIndex(index, (self.seed, self.rank, position))


@TRANSFORMS.register_module()
class SeedFromSampleIndex(BaseTransform):
    """Reseed ``random``, NumPy and torch's CPU generator from the sample's :class:`SampleIndex` (put it first in
    a training pipeline). Samples drawn by another sampler (evaluation, dataset wrappers that renumber) pass
    unchanged. Transforms run on CPU, so the accelerators' generators are left alone: ``torch.manual_seed`` would
    also queue a lazy CUDA / XPU / MTIA seeding with a formatted stack trace each, ~0.9 ms a sample (measured)."""

    def transform(self, results: dict) -> dict:
        index = results.get('sample_idx')
        if isinstance(index, SampleIndex):
            seed = index.seed()
            random.seed(seed)
            np.random.seed(seed)
            torch.default_generator.manual_seed(seed)
        return results

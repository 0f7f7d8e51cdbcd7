"""FractionSubset: a fixed random fraction of a dataset."""
import pytest

from internvl_mm.datasets import FractionSubset


def test_fraction_subset_is_fixed_and_sized():
    data = list(range(100))
    a, b = FractionSubset(data, 1 / 16, seed=0), FractionSubset(data, 1 / 16, seed=0)
    assert len(a) == 6 and [a[i] for i in range(6)] == [b[i] for i in range(6)]
    assert [a[i] for i in range(6)] != [FractionSubset(data, 1 / 16, seed=1)[i] for i in range(6)]
    with pytest.raises(ValueError, match='fraction'):
        FractionSubset(data, 0)

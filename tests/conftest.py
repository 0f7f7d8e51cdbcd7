"""Test-wide settings and shared fixtures: CPU, fp32, deterministic, small generated datasets."""
import os

os.environ.setdefault('DS_ACCELERATOR', 'cpu')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

import pytest  # noqa: E402
import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (applies the compat fixes, registers modules)
# Every toolbox's modules, so that a test may build any of them; tests/test_imports.py checks in fresh processes
# that each config's own custom_imports register what it uses.
import internvl_mm.integrations.classification  # noqa: E402,F401
import internvl_mm.integrations.detection  # noqa: E402,F401
import internvl_mm.integrations.pretraining  # noqa: E402,F401
import internvl_mm.integrations.segmentation  # noqa: E402,F401
from projects.shapes_demo.shapes import ensure_shapes_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """A small copy of each shapes dataset, generated once per test session."""
    return str(tmp_path_factory.mktemp('shapes'))


@pytest.fixture(scope='session')
def shapes_cls(shapes_root):
    return ensure_shapes_dataset(shapes_root, 'cls', num_train=96, num_val=48)[0]


@pytest.fixture(scope='session')
def shapes_seg(shapes_root):
    return ensure_shapes_dataset(shapes_root, 'seg', num_train=32, num_val=8)[0]


@pytest.fixture(scope='session')
def shapes_det(shapes_root):
    return ensure_shapes_dataset(shapes_root, 'det', num_train=32, num_val=8)[0]


@pytest.fixture(scope='session')
def shapes_caption(shapes_root):
    return ensure_shapes_dataset(shapes_root, 'caption', num_train=64, num_val=32)[0]

"""Test-wide settings: CPU, fp32, deterministic, quiet DeepSpeed accelerator detection."""
import os

os.environ.setdefault('DS_ACCELERATOR', 'cpu')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

import pytest  # noqa: E402
import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (applies the compat fixes, registers modules)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield

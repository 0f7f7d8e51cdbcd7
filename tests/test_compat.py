"""One test per upstream fix in internvl_mm.compat."""
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mmengine_checkpoint_content_loads_with_weights_only():
    """What mmengine puts in a checkpoint (message hub, numpy meta) loads with torch's default weights_only."""
    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', 1.0)
    hub.update_scalar('train/loss', np.float64(2.0))
    hub.update_info('iter', 5)
    state = {'meta': {'seed': np.int64(3), 'lr': np.float32(0.5), 'hist': np.arange(3)},
             'message_hub': hub.state_dict(), 'state_dict': {'w': torch.ones(2)}}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)  # mmengine's call: no weights_only argument
    restored = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(restored, HistoryBuffer) and restored.mean() == 1.5 and restored.current() == 2.0
    assert loaded['meta']['seed'] == 3 and list(loaded['meta']['hist']) == [0, 1, 2]


class NotAllowed:
    pass


def test_other_objects_are_still_refused():
    buffer = io.BytesIO()
    torch.save({'x': NotAllowed()}, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError, match='NotAllowed'):
        torch.load(buffer)


def test_init_dist_pytorch_on_cpu_with_two_ranks():
    """mmengine.dist.init_dist('pytorch') under torchrun works without CUDA (gloo, no set_device)."""
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port', '29611',
         os.path.join(ROOT, 'tests', 'scripts', 'init_dist_all_reduce.py')],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count('sum=3.0') == 2


def test_mmpretrain_models_import():
    import mmpretrain.models  # noqa: F401  (fails on transformers >= 4.4x without the fix)
    from mmpretrain.registry import MODELS
    assert MODELS.get('ImageClassifier') is not None

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

from tests.helpers import torchrun_succeeded

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
    assert torchrun_succeeded(result), result.stderr[-3000:]
    assert result.stdout.count('sum=3.0') == 2


def test_mmpretrain_models_import():
    import mmpretrain.models  # noqa: F401  (fails on transformers >= 4.4x without the fix)
    from mmpretrain.registry import MODELS
    assert MODELS.get('ImageClassifier') is not None


def test_deepspeed_uses_its_cpu_accelerator_without_a_gpu_and_no_fallback_warning():
    env = {k: v for k, v in os.environ.items() if k != 'DS_ACCELERATOR'}
    result = subprocess.run(
        [sys.executable, '-c', 'import os, internvl_mm, deepspeed; '
         'from deepspeed.accelerator import get_accelerator; '
         'print(os.environ["DS_ACCELERATOR"], get_accelerator().device_name())'],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ['cpu', 'cpu']
    assert 'Setting accelerator to CPU' not in result.stdout + result.stderr


def test_runner_wraps_cpu_models_in_ddp_without_device_ids(tmp_path, monkeypatch):
    """mmengine passes device_ids=[LOCAL_RANK], which DDP rejects for a CPU module."""
    import torch.distributed as dist
    import torch.nn as nn
    from mmengine.logging import MMLogger
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import Runner
    from types import SimpleNamespace
    monkeypatch.setenv('LOCAL_RANK', '0')  # as torchrun sets it
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        runner = SimpleNamespace(distributed=True, cfg={}, logger=MMLogger.get_current_instance())
        wrapped = Runner.wrap_model(runner, None, nn.Linear(2, 2))
        assert isinstance(wrapped, MMDistributedDataParallel) and wrapped.device_ids is None
        wrapped(torch.ones(1, 2)).sum().backward()  # a working DDP: gradients reduced over the group
        assert wrapped.module.weight.grad is not None
    finally:
        dist.destroy_process_group()


def test_mmengine_deepspeed_strategy_builds_with_deepspeed_019():
    """mmengine registers DeepSpeed's optimizers from a module DeepSpeed 0.19 removed (1-bit Adam)."""
    from mmengine._strategy.deepspeed import DeepSpeedStrategy
    from mmengine.registry import OPTIMIZERS
    DeepSpeedStrategy()  # fails with ModuleNotFoundError without the fix
    assert OPTIMIZERS.get('FusedAdam') is not None


def test_flexible_runner_keeps_the_epoch_the_checkpoint_hook_passes(tmp_path):
    """FlexibleRunner overwrote meta['epoch'] with epoch + 1: a best-metric checkpoint then claimed an untrained
    epoch and a resumed run skipped it."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import FlexibleRunner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='loss'):
            return {'loss': self.fc(torch.stack(inputs)).square().mean()}

    runner = FlexibleRunner(
        model=Toy(), work_dir=str(tmp_path), strategy=dict(type='SingleDeviceStrategy'),
        train_dataloader=dict(dataset=[dict(inputs=torch.ones(2))] * 4, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)), train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=10)))
    runner.train()
    runner.save_checkpoint(str(tmp_path), 'best.pth', meta=dict(epoch=1, iter=2))  # as the hook saves a best
    assert torch.load(tmp_path / 'best.pth', map_location='cpu')['meta']['epoch'] == 1


def test_local_backend_writes_are_atomic(tmp_path, monkeypatch):
    """A write that dies before it completes leaves the earlier file as it was and no partial file."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    target = tmp_path / 'epoch_1.pth'
    LocalBackend().put(b'complete checkpoint', target)

    def die(fd):
        raise KeyboardInterrupt  # stands for a kill between the write and the rename

    monkeypatch.setattr(os, 'fsync', die)
    with pytest.raises(KeyboardInterrupt):
        LocalBackend().put(b'half', target)
    assert target.read_bytes() == b'complete checkpoint' and os.listdir(tmp_path) == ['epoch_1.pth']


def test_checkpoint_hook_saves_before_it_prunes(tmp_path):
    """max_keep_ckpts=1: the previous checkpoint is deleted only after the new one is written, and last_checkpoint
    names a complete file throughout."""
    from mmengine.hooks import CheckpointHook

    class Runner:
        work_dir = str(tmp_path)
        message_hub = MessageHub.get_instance('compat-prune')
        fail = False

        def save_checkpoint(self, out_dir, filename, *args, **kwargs):
            if self.fail:
                raise OSError('disk full')
            (tmp_path / filename).write_bytes(b'ckpt')

    hook = CheckpointHook(interval=1, max_keep_ckpts=1, out_dir=str(tmp_path))
    hook.out_dir, hook.keep_ckpt_ids = str(tmp_path), __import__('collections').deque(maxlen=1)
    from mmengine.fileio import get_file_backend
    hook.file_backend = get_file_backend(str(tmp_path))
    runner = Runner()
    hook._save_checkpoint_with_step(runner, 1, {})
    runner.fail = True
    with pytest.raises(OSError):
        hook._save_checkpoint_with_step(runner, 2, {})
    assert (tmp_path / 'epoch_1.pth').exists()  # upstream deleted it before the failed save
    assert (tmp_path / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    runner.fail = False
    hook._save_checkpoint_with_step(runner, 3, {})
    assert sorted(os.listdir(tmp_path)) == ['epoch_3.pth', 'last_checkpoint']


@pytest.mark.parametrize('statement', [
    'from mmseg.apis import init_model, inference_model, MMSegInferencer',
    'import mmdet.models; from mmdet.apis import init_detector, DetInferencer',
    'import mmpretrain.models; from mmpretrain import ImageClassificationInferencer'])
def test_toolboxes_import_in_a_fresh_process_without_internvl_mm_first(statement):
    """The mmpretrain fix applies wherever mmpretrain is imported (the .pth hook make install writes), not only after
    ``import internvl_mm``: mmseg and mmdet import mmpretrain.models themselves."""
    result = subprocess.run([sys.executable, '-c', statement + '; print("ok")'], capture_output=True, text=True,
                            timeout=300, cwd=os.path.dirname(ROOT))
    assert result.returncode == 0 and result.stdout.strip().endswith('ok'), result.stderr[-3000:]


def test_an_empty_dataset_is_named():
    from mmengine.dataset import BaseDataset

    from internvl_mm.errors import InputError

    class Empty(BaseDataset):
        def load_data_list(self):
            return []

    with pytest.raises(InputError, match="Empty has no samples \\(data_root='/data/x'"):
        Empty(data_root='/data/x', ann_file='')

"""Fault injection with the real data loaders (2 persistent workers, random augmentation): a run killed with
SIGKILL mid-epoch, or in the middle of writing a checkpoint, and resumed, logs exactly the per-iteration losses of a
run that was never interrupted, under the plain runner and under ZeRO-2; earlier checkpoints survive every kill."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import CONFIGS_ROOT, DEMO_CONFIGS, ROOT, run_tool, torchrun_succeeded

CLS = osp.join(DEMO_CONFIGS, 'classification', 'linear-probe_internvit-tiny_shapes-cls.py')
SEG = osp.join(DEMO_CONFIGS, 'segmentation', 'linear-probe_internvit-demo_shapes-seg.py')
REAL_LOADERS = ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True',
                'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
FAULT = '''
_base_ = ['{base}'{strategy}]
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'tests.scripts.kill_hook'], allow_failed_imports=False)
default_hooks = dict({hook})
'''


def losses(work_dir: str) -> dict:
    """step -> loss over every run logged in ``work_dir`` (a resumed run logs the steps it re-ran again)."""
    found = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    found[record['step']] = record['loss']
    return found


def _faulty(tmp_path, base, hook, strategy=None):
    path = tmp_path / 'faulty.py'
    extra = f", '{osp.join(CONFIGS_ROOT, '_base_', 'strategies', strategy + '.py')}'" if strategy else ''
    path.write_text(FAULT.format(base=base, strategy=extra, hook=hook))
    return str(path)


def _cls_options(shapes_cls):
    return ['--cfg-options', *(f'{d}.dataset.data_root={shapes_cls}' for d in ('train_dataloader', 'val_dataloader',
                                                                               'test_dataloader')),
            'train_cfg.max_epochs=3', 'train_dataloader.batch_size=24', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=1', *REAL_LOADERS]


@pytest.fixture(scope='module')
def uninterrupted_cls(tmp_path_factory, shapes_cls):
    work = str(tmp_path_factory.mktemp('full') / 'work')
    run_tool('train.py', CLS, '--work-dir', work, *_cls_options(shapes_cls))
    return losses(work)


@pytest.mark.slow
def test_kill_mid_epoch_resumes_exactly_with_persistent_workers(tmp_path, shapes_cls, uninterrupted_cls):
    work = str(tmp_path / 'work')
    killing = _faulty(tmp_path, CLS, "kill=dict(type='KillAtIterHook', iteration=6)")  # 4 per epoch: mid-epoch 2
    killed = run_tool('train.py', killing, '--work-dir', work, *_cls_options(shapes_cls), check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    run_tool('train.py', CLS, '--work-dir', work, '--resume', *_cls_options(shapes_cls))
    resumed = losses(work)
    assert len(uninterrupted_cls) == 12 and len(set(uninterrupted_cls.values())) > 6
    assert resumed == uninterrupted_cls  # steps 5.. re-ran after the resume: every loss equal, bit for bit


@pytest.mark.slow
def test_kill_during_a_save_keeps_the_previous_checkpoint_and_resumes_exactly(tmp_path, shapes_cls,
                                                                            uninterrupted_cls):
    """max_keep_ckpts=1: killed while epoch 2's checkpoint is written, epoch 1's is still there and complete, no
    truncated epoch_2.pth exists, last_checkpoint names epoch 1, and the resumed run ends like the uninterrupted."""
    work = str(tmp_path / 'work')
    killing = _faulty(tmp_path, CLS, "kill=dict(type='KillDuringSaveHook', epoch=2)")
    killed = run_tool('train.py', killing, '--work-dir', work, *_cls_options(shapes_cls), check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sorted(p for p in os.listdir(work) if p.startswith('epoch_')) == ['epoch_1.pth']
    assert open(osp.join(work, 'last_checkpoint')).read().endswith('epoch_1.pth')
    torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu')  # complete
    run_tool('train.py', CLS, '--work-dir', work, '--resume', *_cls_options(shapes_cls))
    assert losses(work) == uninterrupted_cls


@pytest.mark.slow
def test_resume_skips_a_truncated_newest_checkpoint(tmp_path, shapes_cls, uninterrupted_cls):
    """A checkpoint truncated by some other crash (a copy, a full disk) is skipped with a line naming it."""
    work = str(tmp_path / 'work')
    options = _cls_options(shapes_cls) + ['default_hooks.checkpoint.max_keep_ckpts=3']
    killing = _faulty(tmp_path, CLS, "kill=dict(type='KillAtIterHook', iteration=9)")  # in epoch 3
    assert run_tool('train.py', killing, '--work-dir', work, *options, check=False).returncode == -9
    newest = osp.join(work, 'epoch_2.pth')
    with open(newest, 'r+b') as f:
        f.truncate(os.path.getsize(newest) // 2)
    result = run_tool('train.py', CLS, '--work-dir', work, '--resume', *_cls_options(shapes_cls),
                      'default_hooks.checkpoint.max_keep_ckpts=3')
    assert f'not resuming from {newest}: it is truncated' in result.stderr
    assert losses(work) == uninterrupted_cls


@pytest.mark.slow
def test_iteration_based_segmentation_resumes_exactly(tmp_path, shapes_seg):
    options = ['--cfg-options', 'model.backbone.init_cfg=None',
               *(f'{d}.dataset.data_root={shapes_seg}' for d in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')),
               'train_cfg.max_iters=8', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=3',
               'default_hooks.logger.interval=1', 'train_dataloader.batch_size=4', *REAL_LOADERS]
    full, work = str(tmp_path / 'full'), str(tmp_path / 'work')
    run_tool('train.py', SEG, '--work-dir', full, *options)
    killing = _faulty(tmp_path, SEG, "kill=dict(type='KillAtIterHook', iteration=5)")
    assert run_tool('train.py', killing, '--work-dir', work, *options, check=False).returncode == -9
    run_tool('train.py', SEG, '--work-dir', work, '--resume', *options)
    expected = losses(full)
    assert len(expected) == 8 and losses(work) == expected


@pytest.mark.slow
def test_zero2_kill_during_a_save_resumes_exactly(tmp_path, shapes_cls):
    """Two ZeRO-2 ranks (fp32), rank 0 killed after the first file of epoch 2's checkpoint folder (torchrun stops
    the other): the folder exists only under its temporary name, epoch 1's is complete, and the resumed pair logs
    the uninterrupted pair's losses."""
    fp32 = ['strategy.bf16.enabled=False', 'strategy.inputs_to_half=None']
    options = _cls_options(shapes_cls) + ['train_cfg.max_epochs=2', 'train_dataloader.batch_size=12', *fp32]
    plain = _faulty(tmp_path, CLS, '', strategy='zero2')
    killing = str(tmp_path / 'killing.py')
    with open(killing, 'w') as f:
        f.write(FAULT.format(base=plain, strategy='',
                             hook="kill=dict(type='KillDuringSaveHook', epoch=2, via='torch_save')"))

    def dist_train(config, work, *extra):
        env = dict(os.environ, PYTHON=sys.executable, PORT=str(29850 + len(extra) + len(work) % 50),
                   PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
        return subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2', '--work-dir', work,
                               *extra, *options], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)

    full = dist_train(plain, str(tmp_path / 'full'))
    assert torchrun_succeeded(full), full.stderr[-3000:]
    killed = dist_train(killing, str(tmp_path / 'work'))
    assert killed.returncode != 0
    assert osp.isdir(tmp_path / 'work' / 'epoch_1.pth') and not osp.exists(tmp_path / 'work' / 'epoch_2.pth')
    assert osp.isdir(tmp_path / 'work' / 'epoch_2.pth.partial')
    resumed = dist_train(plain, str(tmp_path / 'work'), '--resume')
    assert torchrun_succeeded(resumed), resumed.stderr[-3000:]
    expected = losses(str(tmp_path / 'full'))
    assert len(expected) == 8 and losses(str(tmp_path / 'work')) == expected

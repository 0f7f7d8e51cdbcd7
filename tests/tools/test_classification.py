"""Classification end to end through tools/train.py and tools/test.py on the embedded shapes data."""
import glob
import os.path as osp

import pytest
import torch

from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, ROOT, last_scalars, run_tool, tool_error_line

CLS = osp.join(DEMO_CONFIGS, 'classification')


def _data(shapes_cls):
    return [f'{loader}.dataset.data_root={shapes_cls}' for loader in ('train_dataloader', 'val_dataloader',
                                                                      'test_dataloader')]


def _short(epochs=1):
    return [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
            'default_hooks.logger.interval=2', *FAST_LOADERS]


@pytest.mark.parametrize('config', ['linear-probe_internvit-tiny_shapes-cls.py',
                                    'attn-pool-probe_internvit-tiny_shapes-cls.py',
                                    'full-ft_internvit-demo_shapes-cls.py'])
def test_train_then_test(tmp_path, shapes_cls, config):
    work = str(tmp_path / 'work')
    run_tool('train.py', osp.join(CLS, config), '--work-dir', work, '--cfg-options', *_data(shapes_cls),
             *_short())
    scalars = last_scalars(work)
    assert 'loss' in scalars and 'accuracy/top1' in scalars
    checkpoint = osp.join(work, 'epoch_1.pth')
    result = run_tool('test.py', osp.join(CLS, config), checkpoint, '--work-dir', str(tmp_path / 'test'),
                      '--out', str(tmp_path / 'preds.pkl'), '--cfg-options', *_data(shapes_cls), *FAST_LOADERS)
    assert 'accuracy/top1=' in result.stdout
    top1 = float(result.stdout.split('accuracy/top1=')[1].split()[0])
    assert top1 == pytest.approx(scalars['accuracy/top1'], abs=1e-4)  # test.py reproduces the validation
    assert osp.getsize(tmp_path / 'preds.pkl') > 0
    assert glob.glob(osp.join(work, '*', 'vis_data', 'events.out.tfevents.*')), 'no TensorBoard events'


def test_probe_trains_only_the_head_and_keeps_backbone_out_of_the_optimizer(tmp_path, shapes_cls):
    work = str(tmp_path / 'work')
    run_tool('train.py', osp.join(CLS, 'linear-probe_internvit-tiny_shapes-cls.py'), '--work-dir', work,
             '--auto-scale-lr', '--cfg-options', *_data(shapes_cls), *_short())
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu')
    groups = ckpt['optimizer']['param_groups']
    # --auto-scale-lr: the config's lr 0.1 is for its base batch 1024; this run's batch is 16
    assert [g['initial_lr'] for g in groups] == [pytest.approx(0.1 * 16 / 1024)] * len(groups)
    names = [n for g in groups for n in g['param_names']]
    assert names and all(n.startswith('head.') for n in names)
    assert 'ema_state_dict' in ckpt and set(ckpt['ema_state_dict']) <= {k for k in ckpt['state_dict']
                                                                         if k.startswith('head.')}


KILL_CONFIG = '''
_base_ = '{base}'
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'tests.scripts.kill_hook'], allow_failed_imports=False)
default_hooks = dict(kill=dict(type='KillAtIterHook', iteration={kill_at}))  # a dict: merges with the base
'''


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, shapes_cls):
    """A run killed with SIGKILL mid-epoch and resumed from its last checkpoint ends exactly like one that was
    never interrupted (same metrics, same weights)."""
    config = osp.join(CLS, 'linear-probe_internvit-tiny_shapes-cls.py')
    options = ['--cfg-options', *_data(shapes_cls), *_short(epochs=3), 'train_dataloader.batch_size=24']
    run_tool('train.py', config, '--work-dir', str(tmp_path / 'full'), *options)
    killing = tmp_path / 'killing.py'
    killing.write_text(KILL_CONFIG.format(base=config, kill_at=6))  # 4 iterations per epoch: mid-epoch 2
    killed = run_tool('train.py', str(killing), '--work-dir', str(tmp_path / 'resumed'), *options, check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert osp.exists(tmp_path / 'resumed' / 'epoch_1.pth') and not osp.exists(tmp_path / 'resumed' / 'epoch_2.pth')
    run_tool('train.py', config, '--work-dir', str(tmp_path / 'resumed'), '--resume', *options)
    full, resumed = last_scalars(str(tmp_path / 'full')), last_scalars(str(tmp_path / 'resumed'))
    assert resumed['accuracy/top1'] == full['accuracy/top1'] and resumed['loss'] == full['loss']
    a = torch.load(tmp_path / 'full' / 'epoch_3.pth', map_location='cpu')['state_dict']
    b = torch.load(tmp_path / 'resumed' / 'epoch_3.pth', map_location='cpu')['state_dict']
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- one-line errors -------------------------------------------------------------------------------------------
def test_missing_config_is_one_line():
    line = tool_error_line(run_tool('train.py', 'configs/nope.py', check=False))
    assert 'config file configs/nope.py does not exist' in line


def test_misspelt_cfg_option_is_one_line():
    line = tool_error_line(run_tool('train.py', osp.join(CLS, 'full-ft_internvit-demo_shapes-cls.py'),
                                '--cfg-options', 'model.backbone.arhc=tiny', check=False))
    assert 'model.backbone has no key "arhc"; did you mean "arch"?' in line


def test_unknown_constructor_argument_is_one_line(shapes_cls):
    line = tool_error_line(run_tool('train.py', osp.join(CLS, 'full-ft_internvit-demo_shapes-cls.py'),
                                '--cfg-options', 'model.backbone.frozen=True', *_data(shapes_cls), check=False))
    assert "unexpected keyword argument 'frozen'" in line


def test_checkpoint_that_does_not_fit_is_one_line(tmp_path, shapes_cls):
    torch.save({'state_dict': {'backbone.cls_token': torch.zeros(1, 1, 32)}}, tmp_path / 'bad.pth')
    line = tool_error_line(run_tool('test.py', osp.join(CLS, 'full-ft_internvit-demo_shapes-cls.py'),
                                str(tmp_path / 'bad.pth'), '--cfg-options', *_data(shapes_cls), check=False))
    assert 'does not fit' in line and 'backbone.cls_token: checkpoint (1, 1, 32) vs model (1, 1, 96)' in line


def test_amp_with_a_strategy_config_is_one_line():
    line = tool_error_line(run_tool('train.py', osp.join(ROOT, 'configs', 'segmentation',
                                                     'upernet-full_internvit-6b-224px_zero3-8xb2-80k_ade20k-504x504.py'),
                                '--amp', check=False))
    assert 'ZeROStrategy' in line and 'drop --amp' in line


def test_amp_on_cpu_is_one_line():
    if torch.cuda.is_available():
        pytest.skip('checks the CPU-only error')
    line = tool_error_line(run_tool('train.py', osp.join(CLS, 'full-ft_internvit-demo_shapes-cls.py'), '--amp',
                                check=False))
    assert 'needs a CUDA GPU' in line and 'drop --amp' in line


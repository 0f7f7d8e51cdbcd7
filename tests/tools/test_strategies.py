"""DDP, DeepSpeed ZeRO-1/2/3 and FSDP from one config include, on two CPU ranks (torchrun, gloo, loopback).

Each strategy trains the demo classifier for 4 steps on the same global batch (2 ranks x 8 images) in fp32 with
SGD (momentum) and must log the same losses as DDP to 1e-5 relative. The strategies sum the same gradients in a different order
and bucketing (a few ulp, ~1e-7 relative), which SGD carries forward unamplified; a real error (a wrong learning-rate
group, a gradient summed instead of averaged, a skipped partition) moves the loss by orders of magnitude more.
(Adam would hide a gradient-scale error and amplify ulp-level differences of near-zero gradients into lr-sized
steps, so the parity runs do not use it.) The same runs measure what each rank holds.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import (CONFIGS_ROOT, DEMO_CONFIGS, FAST_LOADERS, ROOT, last_scalars, run_tool,
                           tool_error_line, torchrun_succeeded)

CLS = osp.join(DEMO_CONFIGS, 'classification')
FP32 = {'zero1': ['strategy.bf16.enabled=False', 'strategy.inputs_to_half=None'],
        'zero2': ['strategy.bf16.enabled=False', 'strategy.inputs_to_half=None'],
        'zero3': ['strategy.bf16.enabled=False', 'strategy.inputs_to_half=None',
                  'strategy.zero_optimization.stage3_param_persistence_threshold=0'],
        'fsdp': ['strategy.model_wrapper=None'], 'ddp': []}
CONFIG = '''
_base_ = ['{task}', '{strategy}']
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'tools.analysis.lib.model_state'],
                      allow_failed_imports=False)
default_hooks = dict(model_state=dict(type='ModelStateBytesHook'))
'''
SGD = '''
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9))
'''
_port = iter(range(29700, 29800))


def _config(tmp_path, strategy, task='full-ft_internvit-demo_shapes-cls.py', sgd=False):
    path = tmp_path / f'{strategy}{"_sgd" if sgd else ""}.py'
    path.write_text(CONFIG.format(task=osp.join(CLS, task),
                                  strategy=osp.join(CONFIGS_ROOT, '_base_', 'strategies', f'{strategy}.py'))
                    + (SGD if sgd else ''))
    return str(path)


def _options(shapes_cls, epochs=1):
    return [*(f'{d}.dataset.data_root={shapes_cls}' for d in ('train_dataloader', 'val_dataloader',
                                                              'test_dataloader')),
            'train_dataloader.dataset.indices=64', f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
            'train_dataloader.batch_size=8', 'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'optim_wrapper.clip_grad=None', *FAST_LOADERS]


def dist_train(config, work_dir, ranks, *options):
    """tools/dist_train.sh with ``ranks`` CPU processes; returns the per-iteration losses of rank 0's log."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(next(_port)), PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    result = subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, str(ranks), '--work-dir',
                             work_dir, '--cfg-options', *options], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=600)
    assert torchrun_succeeded(result), result.stdout[-2000:] + result.stderr[-4000:]
    losses = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            losses += [json.loads(line)['loss'] for line in f if '"loss"' in line]
    return losses


def _state_bytes(work_dir):
    return [json.load(open(osp.join(work_dir, f'model_state_bytes_rank{r}.json'))) for r in range(2)]


@pytest.fixture(scope='module')
def planned_bytes():
    """The memory planner's fp32 model-state figures for the demo classifier with SGD (one momentum state)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from tools.analysis.lib.memory import model_facts, model_state_bytes_per_gpu
    from internvl_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(CLS, 'full-ft_internvit-demo_shapes-cls.py'))
    init_default_scope(cfg.default_scope)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return model_state_bytes_per_gpu(model_facts(model, 'SGD'), ranks=2, mixed_precision=False)


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory, shapes_cls):
    tmp = tmp_path_factory.mktemp('ddp')
    losses = dist_train(_config(tmp, 'ddp', sgd=True), str(tmp / 'work'), 2, *_options(shapes_cls))
    return losses, _state_bytes(str(tmp / 'work'))


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['zero1', 'zero2', 'zero3', 'fsdp'])
def test_same_losses_as_ddp_and_real_partitioning(tmp_path, shapes_cls, ddp_run, planned_bytes, strategy):
    ddp_losses, ddp_bytes = ddp_run
    losses = dist_train(_config(tmp_path, strategy, sgd=True), str(tmp_path / 'work'), 2, *_options(shapes_cls),
                        *FP32[strategy])
    assert len(losses) == len(ddp_losses) == 4 and len(set(losses)) == 4  # training moves the loss
    for ours, reference in zip(losses, ddp_losses):
        assert ours == pytest.approx(reference, rel=1e-5), (losses, ddp_losses)

    ddp = ddp_bytes[0]
    half = pytest.approx(0.5, abs=0.01)
    sharded = {'zero1': {'optimizer'}, 'zero2': {'optimizer', 'grads'},
               'zero3': {'optimizer', 'grads', 'params'}, 'fsdp': {'optimizer', 'grads', 'params'}}[strategy]
    for got in _state_bytes(str(tmp_path / 'work')):
        for kind in ('params', 'grads', 'optimizer'):
            assert got[kind] / ddp[kind] == (half if kind in sharded else 1.0), (kind, got, ddp)
        # DeepSpeed keeps an fp32 master copy of each rank's partition; FSDP updates its shards in place
        assert got['master'] / ddp['params'] == (0 if strategy == 'fsdp' else half)
        # what tools/analysis/memory_plan.py predicts for this strategy is what the engine holds
        name = {'zero1': 'ZeRO-1', 'zero2': 'ZeRO-2', 'zero3': 'ZeRO-3', 'fsdp': 'FSDP'}[strategy]
        assert sum(got.values()) == pytest.approx(planned_bytes[name], rel=0.02)


@pytest.mark.slow
def test_frozen_backbone_is_left_out_of_zero_partitions(tmp_path, shapes_cls):
    dist_train(_config(tmp_path, 'zero2', 'linear-probe_internvit-tiny_shapes-cls.py'), str(tmp_path / 'work'), 2,
               *_options(shapes_cls), *FP32['zero2'])
    head_params = 16 * 128 + 16 + 2 * 128  # fc + BN of the probe head; the backbone is frozen
    for got in _state_bytes(str(tmp_path / 'work')):
        # each rank: half the head's fp32 master copy and SGD momentum (padded to DeepSpeed's alignment)
        assert 0 < got['master'] <= 4 * (head_params // 2 + 64) and got['optimizer'] <= got['master']


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['zero2', 'zero3', 'fsdp'])
def test_resume_at_another_world_size_and_consolidate(tmp_path, shapes_cls, strategy):
    """Saved by 2 ranks, resumed by 1; the checkpoint consolidates into one fp32 file (or is consolidated by
    tools/test.py itself) that the plain runner evaluates to exactly the metric the sharded run logged."""
    config, work = _config(tmp_path, strategy), str(tmp_path / 'work')
    dist_train(config, work, 2, *_options(shapes_cls, epochs=1), *FP32[strategy])
    epoch1 = last_scalars(work)
    resumed = dist_train(config, work, 1, *_options(shapes_cls, epochs=2), *FP32[strategy], '--resume')
    assert len(resumed) > 4  # epoch 2 ran (8 single-rank steps) after epoch 1's 4
    assert last_scalars(work)['loss'] != epoch1['loss']

    checkpoint = osp.join(work, 'epoch_2.pth')
    if strategy != 'zero3':  # ZeRO-3's folder goes to test.py as saved, which consolidates it on the fly
        run_tool('consolidate_checkpoint.py', checkpoint, str(tmp_path / 'consolidated.pth'))
        checkpoint = str(tmp_path / 'consolidated.pth')
    out = run_tool('test.py', config, checkpoint, '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                   *_options(shapes_cls))
    top1 = float(out.stdout.split('accuracy/top1=')[1].split()[0])
    assert top1 == pytest.approx(last_scalars(work)['accuracy/top1'], abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['ddp', 'zero2', 'fsdp'])
def test_pretraining_under_sharding_saves_what_test_py_evaluates(tmp_path, shapes_caption, strategy):
    """InternVL (InternViT + QLLaMA, a 1-element logit_scale) on 2 ranks: every strategy's checkpoint holds the
    model's parameter names (DeepSpeed's once consolidated); tools/test.py reads each and reproduces the metrics
    the run logged, and so does the release-layout export of it."""
    from tests.tools.test_pretraining import SHORT, STAGE1, data_options
    config = tmp_path / f'{strategy}.py'
    config.write_text(CONFIG.format(task=STAGE1, strategy=osp.join(CONFIGS_ROOT, '_base_', 'strategies',
                                                                   f'{strategy}.py')))
    work = str(tmp_path / 'work')
    options = [*data_options(shapes_caption), *SHORT, 'train_dataloader.dataset.indices=32',
               'train_dataloader.batch_size=8', *FP32[strategy]]
    losses = dist_train(str(config), work, 2, *options)
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    scalars = last_scalars(work)
    out = run_tool('test.py', str(config), osp.join(work, 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
                   '--cfg-options', *data_options(shapes_caption), *FAST_LOADERS)
    i2t = float(out.stdout.split('retrieval/i2t_R@1=')[1].split()[0])
    assert i2t == pytest.approx(scalars['retrieval/i2t_R@1'], abs=1e-3)

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from internvl_mm.engine.checkpoints import consolidated_state_dict
    from internvl_mm.registry import MODELS
    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.default_scope)
    with torch.device('meta'):
        names = {n for n, _ in MODELS.build(cfg.model).named_parameters()}
    assert set(consolidated_state_dict(osp.join(work, 'epoch_1.pth'))) == names
    if strategy == 'fsdp':  # the explicit release export reads back through the official-layout loader
        release = str(tmp_path / 'release')
        run_tool('export_release.py', str(config), osp.join(work, 'epoch_1.pth'), release)
        assert any(k.startswith('vision_model.encoder.layers.') for k in json.load(
            open(osp.join(release, 'model.safetensors.index.json')))['weight_map'])
        out = run_tool('test.py', str(config), release, '--work-dir', str(tmp_path / 'test_release'),
                       '--cfg-options', *data_options(shapes_caption), *FAST_LOADERS)
        assert float(out.stdout.split('retrieval/i2t_R@1=')[1].split()[0]) == pytest.approx(i2t, abs=1e-6)
        line = tool_error_line(run_tool('export_release.py', str(config), release, release, check=False))
        assert 'holds the checkpoint it would be written from' in line


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['zero2', 'zero3'])
def test_bf16_zero_trains_a_model_with_batchnorm(tmp_path, shapes_cls, strategy):
    """The strategy includes as shipped (bf16): DeepSpeed 0.19 keeps buffers in fp32 while the weights turn bf16,
    which BatchNorm (the probe head) and the CPU RMSNorm backward must both survive."""
    options = [*_options(shapes_cls), 'train_dataloader.dataset.indices=32']
    losses = dist_train(_config(tmp_path, strategy), str(tmp_path / 'work'), 2, *options)
    assert len(losses) == 2 and all(0 < loss < 10 for loss in losses)


STRATEGY_INCLUDES = sorted(osp.splitext(osp.basename(p))[0]
                           for p in glob.glob(osp.join(CONFIGS_ROOT, '_base_', 'strategies', '*.py')))
DEMO_TASKS = [osp.join(DEMO_CONFIGS, *parts) for parts in (
    ('classification', 'full-ft_internvit-demo_shapes-cls.py'),
    ('segmentation', 'upernet-full_internvit-demo_shapes-seg.py'),
    ('detection', 'mask-rcnn_internvit-demo_shapes-det.py'),
    ('pretraining', 'internvl-c_internvit-demo_shapes-caption.py'))]


@pytest.mark.parametrize('strategy', STRATEGY_INCLUDES)
def test_every_include_composes_with_every_task_config(tmp_path, strategy):
    """The README's promise: one more ``_base_`` entry, nothing else (an include that also sets a key the task
    configs set, such as ``optim_wrapper``, fails here with mmengine's duplicate-key error)."""
    from mmengine.config import Config
    for task in DEMO_TASKS:
        cfg = Config.fromfile(_config(tmp_path, strategy, task=task))
        if strategy != 'ddp':
            assert cfg.strategy.type in ('ZeROStrategy', 'ShardedDataParallelStrategy'), (strategy, cfg.strategy)
        assert cfg.optim_wrapper.optimizer == Config.fromfile(task).optim_wrapper.optimizer
        if strategy == 'fsdp_fp16':
            assert cfg.strategy.fp16_loss_scale == 'dynamic'
            assert cfg.strategy.model_wrapper.mixed_precision.param_dtype == 'float16'


def test_fsdp_fp16_turns_the_task_optim_wrapper_into_a_sharded_loss_scaler(monkeypatch):
    from mmengine._strategy import FSDPStrategy

    from internvl_mm.engine import strategies
    from internvl_mm.engine.strategies import ShardedDataParallelStrategy
    built = []
    monkeypatch.setattr(FSDPStrategy, 'build_optim_wrapper', lambda self, cfg, model=None: built.append(cfg))
    monkeypatch.setattr(strategies, 'require_cuda', lambda *args: None)  # CPU refuses fp16 at build time
    task = dict(constructor='LayerDecayOptimWrapperConstructor', optimizer=dict(type='AdamW', lr=1e-3),
                clip_grad=dict(max_norm=1.0))
    ShardedDataParallelStrategy(fp16_loss_scale='dynamic').build_optim_wrapper(task)
    ShardedDataParallelStrategy().build_optim_wrapper(task)  # bf16 / fp32: the task's wrapper as it is
    assert built == [dict(task, type='AmpOptimWrapper', dtype='float16', use_fsdp=True, loss_scale='dynamic'), task]
    with pytest.raises(ValueError, match='fp16_loss_scale needs'):
        ShardedDataParallelStrategy(fp16_loss_scale=512.0).build_optim_wrapper(dict(task, type='MyWrapper'))


@pytest.mark.parametrize('strategy', ['fsdp_fp16', 'zero2_fp16'])
def test_fp16_include_on_cpu_is_one_line(tmp_path, strategy):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU-only refusal')
    line = tool_error_line(run_tool('train.py', _config(tmp_path, strategy), '--work-dir', str(tmp_path / 'work'),
                                    check=False))
    assert line.startswith('train: error:') and 'fp16 needs a CUDA GPU' in line, line


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['zero2', 'fsdp'])
def test_sharded_include_in_one_plain_process_trains(tmp_path, shapes_cls, strategy):
    """python tools/train.py with a ZeRO / FSDP include and no torchrun runs as a group of one (DeepSpeed looked for
    MPI, FSDP found no process group)."""
    result = run_tool('train.py', _config(tmp_path, strategy), '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                      *_options(shapes_cls), 'train_dataloader.dataset.indices=16', *FP32[strategy])
    assert 'loss' in last_scalars(str(tmp_path / 'work')), result.stderr[-2000:]

"""LoRA through the tools, as a user runs it: tools/train.py with the demo's LoRA config, adapter checkpoints that
tools/test.py, resume, tools/peft_merge.py and tools/export_release.py read; and LoRA under ZeRO-2 / FSDP on two CPU
ranks against DDP."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from internvl_mm.models import adapters
from tools.analysis.lib.memory import model_facts, model_state_bytes_per_gpu
from internvl_mm.registry import MODELS
from tests.helpers import CONFIGS_ROOT, DEMO_CONFIGS, FAST_LOADERS, run_tool, tool_error_line
from tests.tools.test_strategies import CONFIG, FP32, SGD, _state_bytes, dist_train

LORA_CLS = osp.join(DEMO_CONFIGS, 'classification', 'lora_internvit-demo_shapes-cls.py')
FULL_CLS = osp.join(DEMO_CONFIGS, 'classification', 'full-ft_internvit-demo_shapes-cls.py')


def build(config, **backbone):
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(backbone)
    init_default_scope(cfg.default_scope)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def base_checkpoint(tmp_path_factory):
    """A classifier checkpoint of the full-tuning demo (random weights) that the LoRA config starts from."""
    torch.manual_seed(0)
    model = build(FULL_CLS)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('base') / 'base_classifier.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def options(shapes_cls, base, epochs=2):
    return [*(f'{d}.dataset.data_root={shapes_cls}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
            'train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=16', f'train_cfg.max_epochs={epochs}',
            'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
            f'model.backbone.init_cfg.checkpoint={base}', *FAST_LOADERS]


def train_losses(work_dir):
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    return [json.loads(line)['loss'] for line in open(runs[-1]) if '"loss"' in line]


def metric_line(result):
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope='module')
def lora_run(tmp_path_factory, shapes_cls, base_checkpoint):
    work = str(tmp_path_factory.mktemp('lora') / 'work')
    run_tool('train.py', LORA_CLS, '--work-dir', work, '--cfg-options', *options(shapes_cls, base_checkpoint))
    return work


@pytest.mark.slow
def test_the_checkpoint_holds_adapters_and_head_only(lora_run, base_checkpoint):
    checkpoint = torch.load(osp.join(lora_run, 'epoch_2.pth'), weights_only=False)
    keys = set(checkpoint['state_dict'])
    model = build(LORA_CLS)
    trainable = {k for k, p in model.named_parameters() if p.requires_grad}
    buffers = {k for k, _ in model.named_buffers()}
    assert keys == trainable | buffers | {'backbone.' + adapters.BASE_POINTER_KEY}
    assert all(k.startswith('head.') or adapters.is_adapter_key(k) for k in trainable)
    pointer = adapters.decode_base_pointer(checkpoint['state_dict']['backbone.' + adapters.BASE_POINTER_KEY])
    assert pointer['source'] == base_checkpoint and pointer['prefix'] == 'backbone.'
    assert osp.getsize(osp.join(lora_run, 'epoch_2.pth')) < 0.8 * osp.getsize(base_checkpoint)


@pytest.mark.slow
def test_test_py_merge_and_export_read_the_adapter_checkpoint(lora_run, shapes_cls, tmp_path):
    checkpoint = osp.join(lora_run, 'epoch_2.pth')
    test_options = [f'test_dataloader.dataset.data_root={shapes_cls}', *FAST_LOADERS]
    tested = metric_line(run_tool('test.py', LORA_CLS, checkpoint, '--work-dir', str(tmp_path / 't1'),
                                  '--cfg-options', *test_options))
    logged = json.loads([ln for ln in open(glob.glob(osp.join(lora_run, '*', 'vis_data', 'scalars.json'))[-1])
                         if 'accuracy/top1' in ln][-1])
    assert f'accuracy/top1={logged["accuracy/top1"]:.4f}' in tested

    merged = str(tmp_path / 'merged.pth')
    run_tool('peft_merge.py', LORA_CLS, checkpoint, merged)
    state = torch.load(merged, weights_only=True)['state_dict']
    assert not any(adapters.is_adapter_key(k) or 'base_layer' in k for k in state)
    merged_tested = metric_line(run_tool('test.py', LORA_CLS, merged, '--work-dir', str(tmp_path / 't2'),
                                         '--cfg-options', *test_options, 'model.backbone.adapter=None'))
    assert merged_tested == tested

    run_tool('export_release.py', LORA_CLS, checkpoint, str(tmp_path / 'release'))
    from internvl_mm.weights import open_state_dict
    release = open_state_dict(str(tmp_path / 'release'))
    assert 'encoder.layers.0.attn.qkv.weight' in release and not any('lora' in k for k in release)
    merged_qkv = state['backbone.blocks.0.attn.qkv.weight']
    assert torch.equal(release['encoder.layers.0.attn.qkv.weight'], merged_qkv)


@pytest.mark.slow
def test_resume_is_exact(lora_run, shapes_cls, base_checkpoint, tmp_path):
    work = str(tmp_path / 'work')
    run_tool('train.py', LORA_CLS, '--work-dir', work, '--cfg-options',
             *options(shapes_cls, base_checkpoint, epochs=1))
    run_tool('train.py', LORA_CLS, '--work-dir', work, '--resume', '--cfg-options',
             *options(shapes_cls, base_checkpoint, epochs=2))
    full = train_losses(lora_run)
    resumed = train_losses(work)
    assert len(full) == 8 and resumed == full[4:]


@pytest.mark.slow
def test_a_missing_base_is_one_line_at_test_time(lora_run, shapes_cls, tmp_path):
    state = torch.load(osp.join(lora_run, 'epoch_2.pth'), weights_only=False)
    key = 'backbone.' + adapters.BASE_POINTER_KEY
    state['state_dict'][key] = adapters.encode_base_pointer(str(tmp_path / 'moved.pth'), 'backbone.', '0' * 64)
    broken = str(tmp_path / 'broken.pth')
    torch.save(state, broken)
    result = run_tool('test.py', LORA_CLS, broken, '--work-dir', str(tmp_path / 't'), '--cfg-options',
                      f'test_dataloader.dataset.data_root={shapes_cls}', *FAST_LOADERS, check=False)
    assert 'needs its base weights' in tool_error_line(result)


# -- strategies ----------------------------------------------------------------------------------------------------
def _lora_config(tmp_path, strategy):
    path = tmp_path / f'lora_{strategy}.py'
    path.write_text(CONFIG.format(task=LORA_CLS, strategy=osp.join(CONFIGS_ROOT, '_base_', 'strategies',
                                                                   f'{strategy}.py')) + SGD)
    return str(path)


def _dist_options(shapes_cls, base):
    return [*(f'{d}.dataset.data_root={shapes_cls}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')),
            'train_dataloader.dataset.indices=64', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'train_dataloader.batch_size=8', 'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'optim_wrapper.clip_grad=None', f'model.backbone.init_cfg.checkpoint={base}', *FAST_LOADERS]


@pytest.fixture(scope='module')
def lora_ddp(tmp_path_factory, shapes_cls, base_checkpoint):
    tmp = tmp_path_factory.mktemp('lora_ddp')
    losses = dist_train(_lora_config(tmp, 'ddp'), str(tmp / 'work'), 2, *_dist_options(shapes_cls, base_checkpoint))
    return losses, _state_bytes(str(tmp / 'work'))


@pytest.mark.slow
@pytest.mark.parametrize('strategy', ['zero2', 'fsdp'])
def test_lora_under_sharding_matches_ddp(tmp_path, shapes_cls, base_checkpoint, lora_ddp, strategy):
    ddp_losses, ddp_bytes = lora_ddp
    work = str(tmp_path / 'work')
    losses = dist_train(_lora_config(tmp_path, strategy), work, 2, *_dist_options(shapes_cls, base_checkpoint),
                        *FP32[strategy])
    assert len(losses) == 4 and len(set(losses)) == 4
    for ours, reference in zip(losses, ddp_losses):
        assert ours == pytest.approx(reference, rel=1e-5), (losses, ddp_losses)
    model = build(LORA_CLS)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert ddp_bytes[0]['optimizer'] == 4 * trainable  # SGD momentum: one fp32 state per trainable parameter
    ranks = _state_bytes(work)
    # the trainable parameters' momentum is split over the ranks, not repeated (DeepSpeed pads a little)
    assert sum(r['optimizer'] for r in ranks) == pytest.approx(ddp_bytes[0]['optimizer'], rel=0.02)
    planned = model_state_bytes_per_gpu(model_facts(model, 'SGD'), ranks=2, mixed_precision=False)
    for got in ranks:
        if strategy == 'zero2':  # DeepSpeed partitions the trainable parameters evenly
            assert got['optimizer'] / ddp_bytes[0]['optimizer'] == pytest.approx(0.5, abs=0.02), got
        else:
            # FSDP shards each unit's flat parameter, frozen base and adapters together: a rank's share of the
            # adapters follows where they fall in the flat order, and the flat gradient covers the whole unit
            assert got['grads'] == got['params'], got
        name = {'zero2': 'ZeRO-2', 'fsdp': 'FSDP'}[strategy]
        assert sum(got.values()) == pytest.approx(planned[name], rel=0.05), (got, planned[name])
    if strategy == 'fsdp':  # FSDP checkpoints go through the same hook: adapters + head only
        state = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=False)['state_dict']
        assert 'backbone.' + adapters.BASE_POINTER_KEY in state
        assert not any('base_layer' in k for k in state)

"""InternVL pretraining end to end: stage 1 and stage 2 through tools/train.py, zero-shot evaluation through
tools/test.py (also from a release-layout folder), and the all-gathered ITC loss under torchrun."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch

from internvl_mm.weights import open_state_dict
from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, ROOT, last_scalars, run_tool, torchrun_succeeded

PRE = osp.join(DEMO_CONFIGS, 'pretraining')
STAGE1 = osp.join(PRE, 'internvl-c_internvit-demo_shapes-caption.py')
STAGE2 = osp.join(PRE, 'internvl-g_internvit-demo_shapes-caption.py')


# where TokenizeCaption stands in each loader's pipeline (training reseeds its augmentation first)
TOKENIZE_STEP = dict(train_dataloader=2, val_dataloader=1, test_dataloader=1)


def data_options(folder):
    """The data folder for every loader, and its tokenizer for the model and the pipelines."""
    tokenizer = osp.join(folder, 'tokenizer')
    return [f'{loader}.dataset.data_root={folder}' for loader in ('train_dataloader', 'val_dataloader',
                                                                  'test_dataloader')] + \
        [f'model.tokenizer={tokenizer}'] + [f'{loader}.dataset.pipeline.{TOKENIZE_STEP[loader]}.tokenizer={tokenizer}'
                                            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
         'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1', *FAST_LOADERS]


def metrics_of(stdout):
    return {k: float(v) for k, v in (item.split('=') for item in stdout.strip().splitlines()[-1].split())}


@pytest.fixture(scope='module')
def stage1(tmp_path_factory, shapes_caption):
    work = str(tmp_path_factory.mktemp('stage1'))
    run_tool('train.py', STAGE1, '--work-dir', work, '--cfg-options', *data_options(shapes_caption), *SHORT)
    return work


@pytest.mark.slow
def test_stage1_trains_and_zero_shot_evaluation_runs(stage1, shapes_caption, tmp_path):
    scalars = last_scalars(stage1)
    assert scalars['loss_itc'] > 0 and 'retrieval/i2t_R@1' in scalars and 'zero-shot/top1' in scalars
    result = run_tool('test.py', STAGE1, osp.join(stage1, 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
                      '--show-dir', str(tmp_path / 'shown'), '--cfg-options', *data_options(shapes_caption),
                      *FAST_LOADERS)
    metrics = metrics_of(result.stdout)
    for key in ('retrieval/i2t_R@1', 'retrieval/t2i_R@10', 'zero-shot/top1', 'zero-shot/mean_per_class_recall'):
        assert metrics[key] == pytest.approx(scalars[key], abs=1e-3)  # test.py reproduces the validation
    assert os.listdir(tmp_path / 'shown')  # zero-shot predictions drawn


@pytest.mark.slow
def test_official_layout_release_folder_evaluates_the_same(stage1, shapes_caption, tmp_path):
    checkpoint = osp.join(stage1, 'epoch_1.pth')
    assert 'vision_model.blocks.0.attn.qkv.weight' in open_state_dict(checkpoint)  # checkpoints: parameter names
    release = str(tmp_path / 'release')
    run_tool('export_release.py', STAGE1, checkpoint, release, '--max-shard-size', '1MB')
    state = open_state_dict(release)
    assert 'vision_model.encoder.layers.0.attn.qkv.weight' in state and 'qllama.model.norm.weight' in state
    for name in os.listdir(osp.join(shapes_caption, 'tokenizer')):
        shutil.copy(osp.join(shapes_caption, 'tokenizer', name), release)
    options = [o for o in data_options(shapes_caption) if 'tokenizer' not in o]
    options += [f'model.tokenizer={release}'] + [f'{loader}.dataset.pipeline.1.tokenizer={release}'
                                                for loader in ('val_dataloader', 'test_dataloader')]
    from_release = run_tool('test.py', STAGE1, release, '--work-dir', str(tmp_path / 'a'), '--cfg-options',
                            *options, *FAST_LOADERS)
    from_pth = run_tool('test.py', STAGE1, checkpoint, '--work-dir', str(tmp_path / 'b'), '--cfg-options',
                        *data_options(shapes_caption), *FAST_LOADERS)
    assert metrics_of(from_release.stdout) == pytest.approx(metrics_of(from_pth.stdout), abs=1e-3)


@pytest.mark.slow
def test_stage2_from_stage1_trains_the_new_parts_with_three_losses(stage1, shapes_caption, tmp_path):
    work = str(tmp_path / 'stage2')
    init = [f'model.init_cfg.checkpoint={osp.join(stage1, "epoch_1.pth")}']
    short = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'train_dataloader.batch_size=16',
             'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=4', *FAST_LOADERS]
    run_tool('train.py', STAGE2, '--work-dir', work, '--cfg-options', *data_options(shapes_caption), *short, *init)
    scalars = last_scalars(work)
    for key in ('loss_itc', 'loss_itm', 'loss_itg'):
        assert 0 < scalars[key] < 20, key
    ckpt = torch.load(osp.join(work, 'iter_4.pth'), map_location='cpu', weights_only=False)
    names = {n for g in ckpt['optimizer']['param_groups'] for n in g['param_names']}
    assert 'query_tokens' in names and any('.cross_attn.' in n and n.startswith('qllama') for n in names)
    assert not any(n.startswith(('vision_model', 'clip_projector.', 'text_projection')) for n in names)
    # the LLaMA stays frozen; the demo trains only the LM head that its stage 1 did not have
    assert not any(n.startswith('qllama') and '.cross_attn.' not in n and not n.startswith('qllama.lm_head')
                   for n in names)
    stage1_state, stage2_state = open_state_dict(osp.join(stage1, 'epoch_1.pth')), ckpt['state_dict']
    for key in ('vision_model.blocks.0.attn.qkv.weight', 'qllama.model.layers.0.mlp.up_proj.weight'):
        assert torch.equal(stage1_state[key], stage2_state[key])  # frozen
    result = run_tool('test.py', STAGE2, osp.join(work, 'iter_4.pth'), '--work-dir', str(tmp_path / 'test'),
                      '--cfg-options', *data_options(shapes_caption), *FAST_LOADERS)
    assert 'retrieval/i2t_R@1=' in result.stdout and 'zero-shot/top1=' in result.stdout


def test_clear_errors(shapes_caption, tmp_path):
    result = run_tool('train.py', STAGE1, '--work-dir', str(tmp_path / 'a'), '--cfg-options',
                      *data_options(shapes_caption), 'train_dataloader.dataset.pipeline.2.tokenizer=/nowhere',
                      *SHORT, check=False)
    assert result.returncode == 1 and 'tokenizer folder' in result.stderr and 'Traceback' not in result.stderr


@pytest.mark.slow
def test_all_gathered_loss_under_torchrun_equals_single_process(tmp_path):
    out = str(tmp_path / 'dist.pt')
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port', '29633',
         osp.join(ROOT, 'tests', 'scripts', 'dist_contrastive_loss.py'), out],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert torchrun_succeeded(result), result.stderr[-3000:]
    from tests.scripts.contrastive_batch import build_model, global_batch
    model = build_model().train()
    images, samples = global_batch()
    loss = model(images, samples, mode='loss')['loss_itc']
    loss.backward()
    dist = torch.load(out, weights_only=True)
    torch.testing.assert_close(dist['loss'], loss.detach(), atol=1e-6, rtol=1e-5)
    for name, param in model.named_parameters():
        torch.testing.assert_close(dist['grads'][name], param.grad, atol=1e-6, rtol=1e-4, msg=name)
    assert loss.item() > 1.0  # a real loss over 8 pairs, not a degenerate one

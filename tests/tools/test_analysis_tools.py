"""tools/analysis/{print_config, browse_dataset, analyze_logs, confusion_matrix, benchmark_config}.py as a user runs
them, on the demo configs and the real ones, with small generated data and checkpoints: a one-epoch tools/train.py
run of the tiny linear probe (its log and checkpoint) and a random segmentation checkpoint."""
import json
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from tests.helpers import CONFIGS_ROOT, DEMO_CONFIGS, FAST_LOADERS, last_scalars, run_tool, tool_error_line

CLS = osp.join(DEMO_CONFIGS, 'classification', 'linear-probe_internvit-tiny_shapes-cls.py')
SEG = osp.join(DEMO_CONFIGS, 'segmentation', 'linear-probe_internvit-demo_shapes-seg.py')
DET = osp.join(DEMO_CONFIGS, 'detection', 'mask-rcnn_internvit-demo_shapes-det.py')
CAPTION = osp.join(DEMO_CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py')
REAL_SEG = osp.join(CONFIGS_ROOT, 'segmentation', 'linear-probe_internvit-6b-224px_8xb2-80k_ade20k-504x504.py')
REAL_CLS = osp.join(CONFIGS_ROOT, 'classification', 'linear-probe_internvit-6b-224px_8xb128_in1k.py')


def data_roots(root):
    return [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                'test_dataloader')]


@pytest.fixture(scope='module')
def cls_run(tmp_path_factory, shapes_cls):
    """One epoch of the tiny linear probe through tools/train.py: its work dir (JSON log) and checkpoint."""
    work = str(tmp_path_factory.mktemp('cls-run'))
    run_tool('train.py', CLS, '--work-dir', work, '--cfg-options', *data_roots(shapes_cls),
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
             'default_hooks.logger.interval=2', *FAST_LOADERS)
    return dict(work=work, checkpoint=osp.join(work, 'epoch_1.pth'), data=shapes_cls)


@pytest.fixture(scope='module')
def seg_checkpoint(tmp_path_factory):
    """A random checkpoint of the demo segmentation linear probe, as tools/train.py stores one."""
    from tools.cli import build_model
    cfg = Config.fromfile(SEG)
    cfg.model.backbone.init_cfg = None  # the demo starts from the classification demo's checkpoint
    model = build_model(cfg)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('seg-ckpt') / 'random.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.mark.parametrize('path', [CLS, pytest.param(CAPTION, marks=pytest.mark.slow),
                                  pytest.param(REAL_SEG, marks=pytest.mark.slow),
                                  pytest.param(REAL_CLS, marks=pytest.mark.slow)], ids=osp.basename)
def test_print_config_resolves_inheritance_and_overrides(path, tmp_path):
    out = str(tmp_path / 'resolved.py')
    printed = run_tool('analysis/print_config.py', path, '--cfg-options', 'train_dataloader.batch_size=3',
                       '--out', out).stdout
    assert printed.startswith('Config:\n') and 'custom_imports' in printed
    resolved, original = Config.fromfile(out, import_custom_modules=False), Config.fromfile(path)
    assert resolved.train_dataloader.batch_size == 3
    assert resolved.model.to_dict() == original.model.to_dict()
    assert '_base_' not in open(out).read()


@pytest.mark.parametrize('path, kind', [pytest.param(CLS, 'cls', marks=pytest.mark.slow),
                                        pytest.param(SEG, 'seg', marks=pytest.mark.slow), (DET, 'det'),
                                        pytest.param(REAL_SEG, 'seg', marks=pytest.mark.slow)],
                         ids=['demo-cls', 'demo-seg', 'demo-det', 'ade20k'])
def test_browse_dataset_draws_annotated_samples(path, kind, tmp_path, shapes_cls, shapes_seg, shapes_det):
    import mmcv
    root = dict(cls=shapes_cls, seg=shapes_seg, det=shapes_det)[kind]
    out = tmp_path / 'drawn'
    printed = run_tool('analysis/browse_dataset.py', path, '--output-dir', str(out), '--max-items', '3',
                       '--cfg-options', f'train_dataloader.dataset.data_root={root}').stdout
    assert 'drew 3 of' in printed
    files = sorted(os.listdir(out))
    assert len(files) == 3
    image = mmcv.imread(str(out / files[0]))
    assert image.ndim == 3 and image.std() > 5  # a drawn image, not an empty canvas


@pytest.mark.slow  # tools/train.py and tool runs, ~20-40 s each on 2 busy cores
def test_browse_dataset_draws_captions_of_the_image_text_set(tmp_path, shapes_caption):
    tokenizer = osp.join(shapes_caption, 'tokenizer')
    out = tmp_path / 'drawn'
    run_tool('analysis/browse_dataset.py', CAPTION, '--phase', 'val', '--output-dir', str(out), '--max-items', '2',
             '--cfg-options', f'val_dataloader.dataset.data_root={shapes_caption}',
             f'val_dataloader.dataset.pipeline.1.tokenizer={tokenizer}')
    assert len(os.listdir(out)) == 2


@pytest.mark.slow  # tools/train.py and tool runs, ~20-40 s each on 2 busy cores
def test_analyze_logs_plots_curves_and_computes_train_time(cls_run, tmp_path):
    figure = str(tmp_path / 'curves.png')
    printed = run_tool('analysis/analyze_logs.py', 'plot_curve', cls_run['work'], '--keys', 'loss',
                       'accuracy/top1', '--out', figure).stdout
    assert osp.getsize(figure) > 1000
    top1 = last_scalars(cls_run['work'])['accuracy/top1']
    assert f':accuracy/top1: 1 points, last {top1:.4g} at step 1' in printed
    timing = run_tool('analysis/analyze_logs.py', 'cal_train_time', cls_run['work']).stdout
    assert 'average iter time:' in timing and 'slowest epoch 1' in timing


@pytest.mark.slow  # tools/train.py and tool runs, ~20-40 s each on 2 busy cores
def test_confusion_matrix_of_a_trained_classifier_agrees_with_its_accuracy(cls_run, tmp_path):
    pkl, png = str(tmp_path / 'cm.pkl'), str(tmp_path / 'cm.png')
    run_tool('analysis/confusion_matrix.py', CLS, cls_run['checkpoint'], '--pkl', pkl, '--out', png,
             '--include-values', '--cfg-options', *data_roots(cls_run['data']), *FAST_LOADERS)
    with open(pkl, 'rb') as f:
        saved = pickle.load(f)
    matrix = saved['confusion_matrix']
    assert matrix.shape == (16, 16) and len(saved['classes']) == 16
    assert matrix.sum() == 48  # the held-out images
    top1 = last_scalars(cls_run['work'])['accuracy/top1']
    assert abs(100 * matrix.diag().sum().item() / 48 - top1) < 1e-3
    assert osp.getsize(png) > 1000


@pytest.mark.slow  # tools/train.py and tool runs, ~20-40 s each on 2 busy cores
def test_confusion_matrix_counts_pixels_for_segmentation_and_refuses_detection(seg_checkpoint, shapes_seg, tmp_path):
    pkl = str(tmp_path / 'cm.pkl')
    printed = run_tool('analysis/confusion_matrix.py', SEG, seg_checkpoint, '--pkl', pkl, '--cfg-options',
                       *data_roots(shapes_seg), *FAST_LOADERS).stdout
    with open(pkl, 'rb') as f:
        matrix = pickle.load(f)['confusion_matrix']
    assert 'pixels' in printed and matrix.shape[0] == matrix.shape[1]
    assert matrix.sum() > 8 * 32 * 32  # 8 held-out scenes, most pixels labelled
    refused = run_tool('analysis/confusion_matrix.py', DET, seg_checkpoint, '--out', 'x.png', check=False)
    assert 'confusion matrix is drawn for classification and segmentation configs' in tool_error_line(refused)


@pytest.mark.slow  # tools/train.py and tool runs, ~20-40 s each on 2 busy cores
def test_benchmark_config_times_the_test_dataloader_after_warm_up(cls_run, tmp_path):
    result_file = str(tmp_path / 'speed.json')
    printed = run_tool('analysis/benchmark_config.py', CLS, cls_run['checkpoint'], '--warmup', '1', '--iters', '3',
                       '--log-interval', '1', '--batch-size', '8', '--workers', '0', '--device', 'cpu', '--json',
                       result_file, '--cfg-options', *data_roots(cls_run['data'])).stdout
    assert printed.count('Done batch') == 3 and 'Overall fps:' in printed
    with open(result_file) as f:
        result = json.load(f)
    assert result['images'] == 24 and result['batches'] == 3 and result['fps'] > 0
    # a checkpoint of another model is refused in one line
    wrong = run_tool('analysis/benchmark_config.py', SEG, cls_run['checkpoint'], '--cfg-options',
                     *data_roots(cls_run['data']), check=False)
    assert 'benchmark_config: error:' in tool_error_line(wrong)

"""The demo's pipeline (data generation, transfer from the classification run, tools/train.py, tools/test.py with
--show-dir, the result table) for every task, at smoke scale."""
import os

import pytest

from tests.helpers import run_tool


@pytest.mark.slow
def test_demo_smoke(tmp_path):
    result = run_tool('demo.py', '--smoke', '--work-dir', str(tmp_path / 'work'), '--data-root',
                      str(tmp_path / 'data'), timeout=1500)
    for expected in ('accuracy/top1', 'mIoU', 'coco/bbox_mAP', 'coco/segm_mAP'):
        assert expected in result.stdout
    for task in ('classification', 'segmentation', 'detection'):
        assert os.listdir(tmp_path / 'work' / task / 'predictions'), task  # --show-dir wrote images
    train_log = (tmp_path / 'work' / 'segmentation' / 'train.log').read_text()
    assert 'Loaded 56 InternViT tensors' in train_log  # started from the classification checkpoint
    stage1_log = (tmp_path / 'work' / 'pretraining-c' / 'train.log').read_text()
    assert 'Distributed launcher: pytorch' in stage1_log and 'GPU number: 2' in stage1_log  # two CPU ranks
    # the LoRA row: adapters + head trained, a smaller checkpoint than full tuning's
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.startswith(('segmentation ', 'segmentation-lora '))}
    full, lora = rows['segmentation'], rows['segmentation-lora']
    assert float(lora[-3].rstrip('M')) < float(full[-3].rstrip('M'))  # trainable parameters
    assert float(lora[-2]) < float(full[-2])  # checkpoint MB


def test_training_scalars_fall_only_when_their_windows_do_and_peak_memory_is_read(tmp_path):
    """The stage-2 verdict compares the means of the first and last few logged values, so one noisy record (an ITM
    loss at chance that happens to end a hair lower) does not count as falling; the peak memory column reads the
    CPU hook's ``peak_rss_mb`` or mmengine's CUDA ``memory``, and is empty without either."""
    import importlib.util
    import json
    import os.path as osp

    from tests.helpers import ROOT
    spec = importlib.util.spec_from_file_location('demo', osp.join(ROOT, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    itm = [0.693, 0.695, 0.691, 0.694, 0.692, 0.690]
    itg = [4.8, 4.1, 3.6, 2.5, 2.4, 2.3]
    with open(run / 'scalars.json', 'w') as f:
        for a, b in zip(itm, itg):
            f.write(json.dumps(dict(lr=1e-3, loss_itm=a, loss_itg=b, peak_rss_mb=1000 + 100 * b)) + '\n')
        f.write(json.dumps({'retrieval/i2t_R@1': 50.0}) + '\n')  # a validation record: no lr, not training
    scalars = demo.first_and_last(str(tmp_path), ('loss_itm', 'loss_itg'))
    assert scalars['loss_itg'] == pytest.approx((sum(itg[:3]) / 3, sum(itg[3:]) / 3))
    assert demo.scalars_fall({'loss_itg': scalars['loss_itg']})
    assert not demo.scalars_fall(scalars)  # ITM at chance
    assert demo.peak_memory_mb(str(tmp_path)) == pytest.approx(1480.0)  # the largest logged peak
    gpu_run = tmp_path / 'gpu' / '20260101_000000' / 'vis_data'
    gpu_run.mkdir(parents=True)
    (gpu_run / 'scalars.json').write_text(json.dumps(dict(lr=1e-3, loss=1.0, memory=2052)) + '\n')
    assert demo.peak_memory_mb(str(tmp_path / 'gpu')) == 2052
    assert demo.peak_memory_mb(str(tmp_path / 'never_trained')) is None

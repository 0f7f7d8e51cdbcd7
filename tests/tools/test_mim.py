"""The OpenMMLab user's mim commands on the installed package: `mim search` reads internvl_mm/.mim/model-index.yml,
`mim train` / `mim test` find a config by name under internvl_mm/.mim and run its tools/train.py / tools/test.py
(what setup.py's mim extension links there in an editable install)."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest

from internvl_mm import zoo
from tests.helpers import FAST_LOADERS, ROOT, last_scalars

MIM = osp.join(osp.dirname(sys.executable), 'mim')
pytestmark = pytest.mark.skipif(not osp.isfile(MIM), reason='mim is not installed in this environment')


def mim(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    env.pop('PYTHONPATH', None)  # as a user runs it: the installed package, not this checkout on the path
    result = subprocess.run([MIM, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    assert result.returncode == 0, f'mim {" ".join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}'
    return result.stdout


def test_the_package_ships_its_mim_files():
    import internvl_mm
    mim_dir = osp.join(osp.dirname(internvl_mm.__file__), '.mim')
    for name in ('model-index.yml', 'configs', 'tools', 'projects'):
        assert osp.exists(osp.join(mim_dir, name)), name


def test_mim_search_lists_the_zoo():
    out = mim('search', 'internvl_mm')
    for name in zoo.ZOO:
        assert f'config id: {name}\n' in out, name
    assert 'config id: linear-probe_internvit-6b-224px_8xb128_in1k' in out


def test_mim_train_then_mim_test_find_a_demo_config_by_name(tmp_path, shapes_cls):
    work = str(tmp_path / 'work')
    data = [f'{loader}.dataset.data_root={shapes_cls}' for loader in ('train_dataloader', 'val_dataloader',
                                                                      'test_dataloader')]
    out = mim('train', 'internvl_mm', 'linear-probe_internvit-tiny_shapes-cls.py', '--gpus', '0',
              '--work-dir', work, '--cfg-options', *data, 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
              'train_dataloader.batch_size=16', 'default_hooks.logger.interval=2', *FAST_LOADERS)
    assert 'linear-probe_internvit-tiny_shapes-cls.py' in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert 'accuracy/top1' in last_scalars(work)
    assert glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    out = mim('test', 'internvl_mm', 'linear-probe_internvit-tiny_shapes-cls.py', '--checkpoint',
              osp.join(work, 'epoch_1.pth'), '--gpus', '0', '--work-dir', str(tmp_path / 'test'),
              '--cfg-options', *data, *FAST_LOADERS)
    assert 'accuracy/top1=' in out and out.strip().endswith('Testing finished successfully.')

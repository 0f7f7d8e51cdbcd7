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


@pytest.fixture
def fake_hub(tmp_path):
    """The zoo tests' fake hub on 127.0.0.1 serving a tiny release as internvit-6b-448px-v2_5 (pinned), and the
    environment that points the zoo at it (HF_ENDPOINT) with an empty cache."""
    from tests.zoo.conftest import make_release, publish
    from tests.zoo.fake_hub import FakeHub
    hub, release = FakeHub(), make_release()
    publish(hub, 'internvit-6b-448px-v2_5', release)
    env = dict(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / 'hub-cache'), HF_HUB_DOWNLOAD_TIMEOUT='5',
               NO_PROXY='127.0.0.1', HF_HUB_OFFLINE='')
    yield hub, release, env
    hub.close()


def mim_with_env(env, *args, timeout=300):
    full = dict(os.environ, OMP_NUM_THREADS='2', **env)
    full.pop('PYTHONPATH', None)
    return subprocess.run([MIM, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=full)


def test_every_release_has_a_mim_config_and_a_weights_file_url_the_zoo_resolves():
    from mim.commands.search import get_model_info

    from internvl_mm.zoo.mim import release_of_url
    table = get_model_info('internvl_mm', shown_fields=['weight', 'config'], to_dict=True)
    for name, model in zoo.ZOO.items():
        assert table[name]['config'] == f'configs/backbones/{name}.py'
        assert release_of_url(table[name]['weight']) is model
    assert release_of_url('https://download.openmmlab.com/mmclassification/v0/resnet/resnet50.pth') is None
    # another revision than the catalog's is not a zoo download (mim would fetch it itself)
    assert release_of_url(zoo.get_model('internvit-6b-224px').weights_url.replace('/main/', '/abc/')) is None


@pytest.mark.slow  # two mim runs (~15 s each on 2 busy cores)
def test_mim_download_fetches_a_release_through_the_zoo_verified_and_resumed(tmp_path, fake_hub):
    from mmengine.config import Config

    from tests.zoo.fake_hub import Fault
    hub, release, env = fake_hub
    name, dest = 'internvit-6b-448px-v2_5', tmp_path / 'checkpoints'
    shard = release.shards[0]
    # a corrupt copy: the checksum fails, mim stops with one line, nothing reaches the destination
    hub.inject(shard, Fault(flip_byte=len(release.files[shard]) // 2, times=1))
    failed = mim_with_env(env, 'download', 'internvl_mm', '--config', name, '--dest', str(dest))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f'mim download: error: {name}: {shard} failed its checksum: expected sha256' in failed.stderr
    assert 'Traceback' not in failed.stderr
    assert not (dest / name).exists()
    # the next run: the connection drops mid-file and the transfer resumes with a Range request
    hub.inject(shard, Fault(cut_at=[len(release.files[shard]) // 3], times=1))
    out = mim_with_env(env, 'download', 'internvl_mm', '--config', name, '--dest', str(dest))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert any(r[2] and r[2].startswith('bytes=') for r in hub.gets(shard)), hub.gets(shard)
    folder = dest / name
    weights = sorted(p for p in release.files if p.endswith(('.safetensors', '.json')))
    assert sorted(os.listdir(folder)) == weights
    for path in weights:
        assert (folder / path).read_bytes() == release.files[path], path
    assert f'the release is in {folder}' in out.stdout
    cfg = Config.fromfile(str(dest / f'{name}.py'), import_custom_modules=False)
    assert cfg.model.backbone.arch == '6b-448' and cfg.model.backbone.init_cfg.checkpoint == f'zoo://{name}'
    # the folder is a release folder: it loads as the backbone
    from internvl_mm.weights import open_state_dict
    from tests.helpers import to_hf_layout
    loaded = open_state_dict(str(folder))
    expected = to_hf_layout(release.state_dict)
    assert set(loaded) == set(expected)
    import torch
    assert all(torch.equal(loaded[k], v) for k, v in expected.items())


def test_the_import_hook_hands_only_zoo_urls_to_the_zoo(tmp_path, monkeypatch):
    """The wrapper the .pth hook puts on mim.utils.download_from_file: other URLs go to mim's own function."""
    import types

    import internvl_mm.import_hook as hook
    import internvl_mm.zoo.mim as zoo_mim
    calls = []
    fake = types.SimpleNamespace(download_from_file=lambda url, dest, hash_prefix=None, check_certificate=True:
                                 calls.append(('mim', url)))
    hook.route_mim_downloads(fake)
    hook.route_mim_downloads(fake)  # idempotent: wrapped once
    assert fake.download_from_file.__wrapped__.__name__ == '<lambda>'
    monkeypatch.setattr(zoo_mim, 'fetch_release_into', lambda model, root, **kw: calls.append(('zoo', model.name))
                        or str(tmp_path))
    other = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50.pth'
    fake.download_from_file(other, str(tmp_path / 'resnet50.pth'))
    fake.download_from_file(zoo.get_model('internvit-300m-448px').weights_url, str(tmp_path / 'model.safetensors'))
    assert calls == [('mim', other), ('zoo', 'internvit-300m-448px')]

"""Bad inputs and faults, table-driven: each case ends with exit status 1, one line that names the problem and the
fix (no traceback), and leaves every file that was there before exactly as it was."""
import hashlib
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import DEMO_CONFIGS, run_tool, tool_error_line

CLS = osp.join(DEMO_CONFIGS, 'classification', 'linear-probe_internvit-tiny_shapes-cls.py')
NO_WORKERS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
              'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def _roots(folder):
    return [f'{d}.dataset.data_root={folder}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def snapshot(folder):
    """path -> sha256 of every file below ``folder``."""
    found = {}
    for top, _, files in os.walk(folder):
        for name in files:
            path = osp.join(top, name)
            with open(path, 'rb') as f:
                found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


class Payload:
    """An arbitrary object a weights-only load must refuse."""


@pytest.fixture(scope='module')
def inputs(tmp_path_factory, shapes_cls):
    """A folder of inputs: a copy of the shapes data (with an oversized and a tiny image in two variants), a
    checkpoint that fits the config, a truncated one, a refused pickle, a release folder and a broken shard index."""
    from mmengine.config import Config

    from internvl_mm.weights import save_safetensors_shards
    from tools.cli import build_model
    root = tmp_path_factory.mktemp('inputs')
    model = build_model(Config.fromfile(CLS))
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, root / 'good.pth')
    data = (root / 'good.pth').read_bytes()
    (root / 'truncated.pth').write_bytes(data[:len(data) // 2])
    torch.save({'state_dict': {'w': torch.ones(1)}, 'extra': Payload()}, root / 'pickled.pth')
    save_safetensors_shards(model.backbone.release_state_dict(), str(root / 'release'), max_shard_bytes=100_000)
    shutil.copytree(root / 'release', root / 'bad_index')
    (root / 'bad_index' / 'model.safetensors.index.json').write_text('{"weight_map": ')
    shutil.copytree(root / 'release', root / 'wrong_shard')
    index = json.loads((root / 'wrong_shard' / 'model.safetensors.index.json').read_text())
    first, last = sorted(set(index['weight_map'].values()))[0], sorted(set(index['weight_map'].values()))[-1]
    key = next(k for k, v in index['weight_map'].items() if v == first)
    index['weight_map'][key] = last
    (root / 'wrong_shard' / 'model.safetensors.index.json').write_text(json.dumps(index))
    for name, size in (('huge', (9000, 20)), ('tiny', (10, 64))):
        shutil.copytree(shapes_cls, root / name)
        first_image = (root / name / 'meta' / 'val.txt').read_text().split()[0]
        Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(root / name / 'val' / first_image)
    (root / 'empty_work').mkdir()
    shutil.copytree(shapes_cls, root / 'no_samples')
    (root / 'no_samples' / 'meta' / 'train.txt').write_text('')
    (root / 'a_file').write_text('not a folder')
    return root


CASES = {
    'self-consolidation': (['consolidate_checkpoint.py', '{r}/good.pth', '{r}/good.pth'],
                           'is the checkpoint being consolidated; write the consolidated weights to another file'),
    'export into its checkpoint': (['export_release.py', CLS, '{r}/release', '{r}/release'],
                                   'holds the checkpoint it would be written from'),
    'resume with nothing to resume': (['train.py', CLS, '--work-dir', '{r}/empty_work', '--resume'],
                                      'holds no checkpoint to resume from; drop --resume'),
    'resume a truncated checkpoint': (['train.py', CLS, '--work-dir', '{r}/empty_work', '--resume',
                                       '{r}/truncated.pth'], 'truncated.pth: it is truncated'),
    'resume from a weights-only file': (['train.py', CLS, '--work-dir', '{r}/empty_work', '--resume', '{r}/good.pth'],
                                        'holds weights but no training state'),
    'empty training set': (['train.py', CLS, '--work-dir', '{r}/work_empty_set', '--cfg-options',
                            *_roots('{r}/no_samples'), *NO_WORKERS], 'ShapesClsDataset has no samples'),
    'test a truncated checkpoint': (['test.py', CLS, '{r}/truncated.pth'], 'is truncated or corrupt'),
    'test a refused pickle': (['test.py', CLS, '{r}/pickled.pth'], 'can not be loaded safely'),
    'broken shard index': (['test.py', CLS, '{r}/bad_index'], 'is not a readable shard index'),
    'index names the wrong shard': (['test.py', CLS, '{r}/wrong_shard'], 'which does not hold them'),
    'launcher without torchrun': (['train.py', CLS, '--launcher', 'pytorch'], 'needs the environment torchrun sets'),
    'work dir is a file': (['train.py', CLS, '--work-dir', '{r}/a_file'], 'is a file, not a folder'),
    'missing data root': (['train.py', CLS, '--work-dir', '{r}/work_missing_root', '--cfg-options',
                           'train_dataloader.dataset.data_root={r}/nowhere'], 'data_root {r}/nowhere does not exist'),
    'oversized image': (['test.py', CLS, '{r}/good.pth', '--cfg-options', *_roots('{r}/huge'), *NO_WORKERS],
                        'is 9000x20 px, larger than max_side=8192'),
    'image smaller than a patch': (['test.py', CLS, '{r}/good.pth', '--cfg-options', *_roots('{r}/tiny'),
                                    'test_dataloader.num_workers=2'], 'is 10x64 px, smaller than min_side=14'),
}


@pytest.mark.slow
@pytest.mark.parametrize('case', sorted(CASES))
def test_bad_input_is_one_line_and_changes_nothing(inputs, shapes_cls, case):
    args, expected = CASES[case]
    args = [a.format(r=inputs) for a in args]
    if args[0] in ('train.py', 'test.py') and '--cfg-options' not in args:
        args += ['--cfg-options', *_roots(shapes_cls)]
    before = snapshot(inputs)
    line = tool_error_line(run_tool(*args, check=False))
    assert expected.format(r=inputs) in line, line
    after = snapshot(inputs)
    assert {p: h for p, h in after.items() if p in before} == before  # nothing that was there changed
    assert not [p for p in after if p not in before and p.endswith(('.pth', '.safetensors', '.json'))]


@pytest.mark.slow
def test_one_odd_sized_image_does_not_change_the_others_predictions(tmp_path, shapes_cls):
    """A 128x96 image among the 64x64 ones: every other image gets the prediction it gets in a batch of one."""
    data = tmp_path / 'mixed'
    shutil.copytree(shapes_cls, data)
    first_image = (data / 'meta' / 'val.txt').read_text().split()[0]
    Image.open(data / 'val' / first_image).resize((128, 96)).save(data / 'val' / first_image)
    from mmengine.config import Config

    from tools.cli import build_model
    model = build_model(Config.fromfile(CLS))
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'random.pth')
    scores = {}
    for batch in (1, 16):
        out = tmp_path / f'preds_{batch}.pkl'
        run_tool('test.py', CLS, str(tmp_path / 'random.pth'), '--out', str(out), '--work-dir',
                 str(tmp_path / f'test_{batch}'), '--cfg-options', *_roots(str(data)), *NO_WORKERS,
                 f'test_dataloader.batch_size={batch}')
        import pickle
        with open(out, 'rb') as f:
            scores[batch] = torch.stack([torch.as_tensor(p['pred_score']) for p in pickle.load(f)])
    torch.testing.assert_close(scores[16][1:], scores[1][1:], rtol=1e-5, atol=1e-6)

"""tools/extract_features.py: features of a folder of generated PNGs with a tiny InternViT, batched into
resumable safetensors shards; an interrupted run completed by a rerun equals a direct forward; one-line errors."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from internvl_mm.apis import create_model, create_transform, load_features
from internvl_mm.apis import features as features_module
from internvl_mm.apis.features import FeatureOutputError
from internvl_mm.weights import save_safetensors_shards
from tests.helpers import random_internvit, run_tool, to_hf_layout, tool_error_line
from tools import extract_features as tool

NUM_IMAGES = 11


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'images'
    for i in range(NUM_IMAGES):
        sub = folder / ('a' if i % 3 else 'b')
        sub.mkdir(parents=True, exist_ok=True)
        size = (40 + 7 * i, 50 + 3 * i)
        Image.fromarray(np.random.RandomState(i).randint(0, 255, (*size, 3), dtype=np.uint8)).save(sub / f'{i}.png')
    (folder / 'notes.txt').write_text('not an image')
    return str(folder)


@pytest.fixture
def checkpoint(tmp_path):
    folder = tmp_path / 'tiny-release'
    save_safetensors_shards(to_hf_layout(random_internvit('tiny').state_dict()), str(folder), max_shard_bytes=1 << 30)
    return str(folder)


def direct_features(checkpoint, root, names, **kwargs):
    model = create_model('tiny', pretrained=checkpoint, **kwargs).eval()
    preprocess = create_transform(model.pretrained_cfg)
    with torch.no_grad():
        return torch.cat([model(preprocess(Image.open(osp.join(root, n)))[None]) for n in names])


def test_interrupted_run_is_completed_by_a_rerun(images, checkpoint, tmp_path, monkeypatch):
    out = str(tmp_path / 'features')
    args = ['tiny', images, '--out', out, '--checkpoint', checkpoint, '--batch-size', '3', '--shard-size', '4']
    real_save, saved = features_module.save_shard, []

    def save_then_die(path, features):
        if len(saved) == 1:
            raise KeyboardInterrupt  # killed while the second shard is computed
        real_save(path, features)
        saved.append(path)

    monkeypatch.setattr(features_module, 'save_shard', save_then_die)
    with pytest.raises(KeyboardInterrupt):
        tool.main(args + ['--no-progress'])
    assert sorted(f for f in os.listdir(out) if not f.startswith('.')) == ['features-00000.safetensors', 'index.json']
    with open(osp.join(out, 'index.json')) as f:
        index = json.load(f)
    assert index['done'] == ['features-00000.safetensors'] and not index['complete']
    assert len(index['shards']) == 3 and index['num_images'] == NUM_IMAGES
    with pytest.raises(FeatureOutputError, match='unfinished'):
        load_features(out)
    first = os.stat(osp.join(out, 'features-00000.safetensors'))
    monkeypatch.undo()

    # the rerun, as a user runs it: skips the finished shard, writes the other two, with a progress bar
    result = run_tool('extract_features.py', *args, timeout=300)
    assert f'{NUM_IMAGES} images -> 3 shards' in result.stdout
    assert 'features:' in result.stderr and f'{NUM_IMAGES}/{NUM_IMAGES}' in result.stderr
    again = os.stat(osp.join(out, 'features-00000.safetensors'))
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert not [f for f in os.listdir(out) if f.endswith('.partial')]

    names, features = load_features(out)
    assert names == sorted(names) and len(names) == NUM_IMAGES and names[0].startswith('a' + os.sep)
    torch.testing.assert_close(features, direct_features(checkpoint, images, names), rtol=1e-4, atol=1e-5)

    # a shard written but not yet in the index (killed between the two writes), and a damaged one, are handled
    with open(osp.join(out, 'index.json')) as f:
        index = json.load(f)
    index.update(done=[], complete=False)
    with open(osp.join(out, 'index.json'), 'w') as f:
        json.dump(index, f)
    with open(osp.join(out, 'features-00002.safetensors'), 'wb') as f:
        f.write(b'garbage')
    calls = []
    monkeypatch.setattr(features_module, 'save_shard', lambda path, feats: (calls.append(path), real_save(path, feats)))
    tool.main(args + ['--no-progress'])
    assert [osp.basename(p) for p in calls] == ['features-00002.safetensors']
    torch.testing.assert_close(load_features(out)[1], features)


def test_list_file_and_pooling(images, checkpoint, tmp_path):
    listing = tmp_path / 'list.txt'
    listing.write_text('# two images\nimages/b/0.png\n\n' + osp.join(images, 'a', '1.png') + '\n')
    out = str(tmp_path / 'avg')
    tool.main(['tiny', str(listing), '--out', out, '--checkpoint', checkpoint, '--pool', 'avg', '--no-progress'])
    names, features = load_features(out)
    assert names == ['images/b/0.png', osp.join(images, 'a', '1.png')]
    torch.testing.assert_close(features, direct_features(checkpoint, str(tmp_path), names, global_pool='avg'),
                               rtol=1e-4, atol=1e-5)
    tokens = str(tmp_path / 'tokens')
    tool.main(['tiny', str(listing), '--out', tokens, '--checkpoint', checkpoint, '--pool', 'none',
               '--workers', '1', '--batch-size', '1', '--no-progress'])
    assert load_features(tokens)[1].shape == (2, 17, 64)


def test_mistakes_are_one_line(images, checkpoint, tmp_path, capsys):
    def error(*args):
        with pytest.raises(SystemExit) as info:
            tool.main(list(args) + ['--no-progress'])
        assert info.value.code == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[-1].startswith('extract_features: error: ')
        return lines[-1]

    assert 'no such folder or list file' in error('tiny', str(tmp_path / 'nope'), '--out', str(tmp_path / 'o'),
                                                  '--checkpoint', checkpoint)
    assert 'pass --checkpoint' in error('tiny', images, '--out', str(tmp_path / 'o'))
    assert "did you mean 'tiny'" in error('tinyy', images, '--out', str(tmp_path / 'o'), '--checkpoint',
                                          checkpoint)
    out = str(tmp_path / 'f')
    tool.main(['tiny', images, '--out', out, '--checkpoint', checkpoint, '--shard-size', '4', '--no-progress'])
    assert 'holds features of another run' in error('tiny', images, '--out', out, '--checkpoint', checkpoint,
                                                    '--shard-size', '5')
    (tmp_path / 'empty').mkdir()
    assert 'holds no image files' in error('tiny', str(tmp_path / 'empty'), '--out', out, '--checkpoint', checkpoint)
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'x.png').write_bytes(b'not a png')
    assert 'can not be read' in error('tiny', str(broken), '--out', str(tmp_path / 'b'), '--checkpoint', checkpoint)
    line = error('tiny', str(broken), '--out', str(tmp_path / 'b'), '--checkpoint', checkpoint, '--workers', '1')
    assert 'x.png can not be read' in line  # the file named, also when a worker process read it
    # and from the command line: one line, no traceback
    line = tool_error_line(run_tool('extract_features.py', 'tiny', images, '--out', str(tmp_path / 'o'),
                                    check=False, timeout=300))
    assert line.startswith('extract_features: error:') and '--checkpoint' in line


def test_configs_internvl_and_task_backbone(images, tmp_path):
    """A pretraining config gives InternVL's image embeddings; a task config its backbone's head feature, read
    from a task checkpoint (keys under ``backbone.``)."""
    from internvl_mm.apis import create_model_and_transforms
    from tests.helpers import DEMO_CONFIGS
    names = None
    for config, width in (('pretraining/internvl-c_internvit-demo_shapes-caption.py', 128),
                          ('classification/full-ft_internvit-demo_shapes-cls.py', 192)):
        config = osp.join(DEMO_CONFIGS, config)
        model, preprocess = create_model_and_transforms(config)
        state = model.state_dict() if width == 128 else {'backbone.' + k: v for k, v in model.state_dict().items()}
        ckpt = str(tmp_path / f'{width}.pth')
        torch.save({'state_dict': state}, ckpt)
        out = str(tmp_path / f'out{width}')
        tool.main([config, images, '--out', out, '--checkpoint', ckpt, '--no-progress'])
        names, features = load_features(out)
        model.eval()
        with torch.no_grad():
            pixels = torch.stack([preprocess(Image.open(osp.join(images, n))) for n in names])
            expected = model.encode_image(pixels) if width == 128 else model(pixels)
        assert features.shape == (NUM_IMAGES, width)
        torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(SystemExit):
        tool.main([config, images, '--out', str(tmp_path / 'random'), '--no-progress'])

"""The python snippets of README.md's "Using InternViT" section, executed as they are written, with the big names
replaced by small stand-ins (``STAND_INS``: a tiny arch, small checkpoints and images this test builds, a loopback
hub for the zoo). Every replaced name must still occur in the section, so the table can not silently go stale;
each snippet's results are then checked."""
import glob
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from internvl_mm.registry import MODELS
from internvl_mm.weights import save_safetensors_shards
from tests.helpers import DEMO_CONFIGS, ROOT, random_internvit, to_hf_layout

SECTION = '## Using InternViT'
DEMO_C = osp.join(DEMO_CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py')


def readme_snippets():
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    start = text.index(SECTION)
    end = text.find('\n## ', start + len(SECTION))
    return re.findall(r'```python\n(.*?)```', text[start:end], flags=re.S)


@pytest.fixture
def stand_ins(tmp_path, shapes_caption, monkeypatch):
    """name in the README -> the code that replaces it, and the small things it points at."""
    release = str(tmp_path / 'InternViT-tiny')
    save_safetensors_shards(to_hf_layout(random_internvit('tiny').state_dict()), release, max_shard_bytes=1 << 30)
    images = tmp_path / 'images'
    images.mkdir()
    for path in sorted(glob.glob(osp.join(shapes_caption, '**', '*.png'), recursive=True))[:4]:
        shutil.copy(path, images)
    image = str(sorted(images.iterdir())[0])
    tokenizer = osp.join(shapes_caption, 'tokenizer')
    cfg = Config.fromfile(DEMO_C)
    cfg.merge_from_dict({'model.tokenizer': tokenizer, 'model.init_cfg': None})
    config = str(tmp_path / 'internvl-c-demo.py')
    cfg.dump(config)
    init_default_scope('mmpretrain')
    internvl = MODELS.build(cfg.model)
    internvl.init_weights()
    checkpoint = str(tmp_path / 'internvl-c.pth')
    torch.save({'state_dict': internvl.state_dict(), 'meta': {}}, checkpoint)
    from internvl_mm.apis import create_model, create_transform, extract_features
    vit = create_model('tiny', pretrained=release).eval()
    features = str(tmp_path / 'features')
    extract_features(vit, create_transform(vit.pretrained_cfg), str(images), features, model_id='tiny',
                     progress=False)
    # mim download: the zoo's loopback hub serves a tiny release as internvit-300m-448px
    from tests.zoo.conftest import make_release, publish
    from tests.zoo.fake_hub import FakeHub
    hub = FakeHub()
    publish(hub, 'internvit-300m-448px', make_release())
    for key, value in dict(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / 'hub-cache'),
                           HF_HUB_DOWNLOAD_TIMEOUT='5', NO_PROXY='127.0.0.1').items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    monkeypatch.chdir(tmp_path)
    table = {
        "arch='6b-224', out_type='featmap', out_indices=(11, 23, 35, 47)":
            "arch='tiny', out_type='featmap', out_indices=(0, 1, 2, 3)",
        "'/path/to/InternViT-6B-224px'": repr(release),
        "create_model('internvit-6b-224px', pretrained=True)": f"create_model('tiny', pretrained={release!r})",
        "create_model('internvit-6b-448px-v1-5', pretrained=True,":
            f"create_model('tiny', pretrained={release!r},",
        "create_model_and_transforms('internvl-c-14b', pretrained=True)":
            f"create_model_and_transforms({config!r}, pretrained={checkpoint!r})",
        "get_tokenizer('internvl-c-14b')": f'get_tokenizer({tokenizer!r})',
        "'cat.jpg'": repr(image),
        "'work_dirs/features'": repr(features),
        "'configs/pretraining/retrieval_internvl-c-14b_coco.py'": repr(config),
        "'data/InternVL-14B-224px'": repr(checkpoint),
        "'data/images'": repr(str(images)),
        "'work_dirs/gallery.pth'": repr(str(tmp_path / 'gallery.pth')),
    }
    yield table, dict(images=sorted(str(p) for p in images.iterdir()), dest=tmp_path / 'checkpoints')
    hub.close()


def test_the_section_has_the_snippets_the_test_knows():
    snippets = readme_snippets()
    assert len(snippets) >= 6
    joined = '\n'.join(snippets)
    for api in ('InternViT(', 'create_model(', 'create_model_and_transforms(', 'load_features(',
                'ImageToTextRetrievalInferencer(', 'TextToImageRetrievalInferencer(', 'download('):
        assert api in joined, api


def test_readme_snippets_run_as_written(stand_ins):
    table, made = stand_ins
    snippets = readme_snippets()
    joined = '\n'.join(snippets)
    stale = [name for name in table if name not in joined]
    assert not stale, f'README snippets no longer contain {stale}: update STAND_INS in this test'
    results = []
    for snippet in snippets:
        code = snippet
        for name, replacement in table.items():
            code = code.replace(name, replacement)
        namespace = {'__name__': '__readme__'}
        exec(compile(code, 'README.md:Using InternViT', 'exec'), namespace)
        results.append(namespace)
    by_name = {}
    for namespace in results:
        by_name.update({k: v for k, v in namespace.items() if not k.startswith('__')})
    timm_style = next(n for n in results if 'pooled' in n)
    assert by_name['vit'].embed_dims == 64  # the tiny arch, its weights read from the release folder
    assert timm_style['pooled'].shape == (2, timm_style['model'].num_features)
    size = timm_style['model'].pretrained_cfg['input_size'][-1]
    assert timm_style['tokens'].shape[:2] == (2, 1 + (size // 14) ** 2)
    assert len(by_name['maps']) == 4 and by_name['maps'][0].dim() == 4
    assert torch.allclose(by_name['probs'].sum(-1), torch.ones(1))
    assert len(by_name['names']) == len(made['images']) and by_name['features'].shape[0] == len(made['images'])
    assert by_name['best'][0]['text'] in by_name['texts'] and len(by_name['best']) == 2
    assert by_name['found'] in made['images']
    folder = made['dest'] / 'internvit-300m-448px'
    assert (folder / 'config.json').is_file() and (made['dest'] / 'internvit-300m-448px.py').is_file()
    assert any(p.endswith('.safetensors') for p in os.listdir(folder))

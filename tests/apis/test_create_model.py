"""internvl_mm.apis: create_model (presets, zoo weights through the fake hub, features_only, pretrained_cfg,
errors), create_model_and_transforms + get_tokenizer (InternVL-C with the ITC prefix added by the tokenizer). The
README snippets run in tests/test_readme_snippets.py."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import internvl_mm
from internvl_mm import create_model, create_model_and_transforms, get_tokenizer
from internvl_mm.apis import INTERNVL_MODELS, InternViTFeatures, InternViTModel, default_out_indices
from internvl_mm.apis.pretrained import DEFAULT_MEAN, DEFAULT_STD
from internvl_mm.errors import ConfigError, MissingFileError
from internvl_mm.models import InternViT
from internvl_mm.models.language.tokenizer import ITC_PREFIX, InternVLTokenizer
from internvl_mm.weights import save_safetensors_shards
from tests.helpers import CONFIGS_ROOT, DEMO_CONFIGS, random_internvit, to_hf_layout
from tests.zoo.conftest import Release, hub, publish, release  # noqa: F401  (hub, release: fixtures)

TINY_INTERNVL = dict(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), num_query_token=4, embed_dim=32,
                     attn_pool_num_heads=4, max_txt_len=48)
X = torch.randn(2, 3, 56, 56)


def assert_weights(model, state_dict, prefix=''):
    own = model.state_dict()
    for key, value in state_dict.items():
        torch.testing.assert_close(own[prefix + key], value, rtol=0, atol=0, msg=key)


# -- create_model ----------------------------------------------------------------------------------------------------
def test_preset_has_timm_interface():
    model = create_model('tiny')
    assert isinstance(model, InternViT) and isinstance(model, InternViTModel)
    assert model.num_features == 64 and model.num_classes == 0
    tokens = model.forward_features(X)
    assert tokens.shape == (2, 1 + 16, 64)
    torch.testing.assert_close(model(X), tokens[:, 0])
    torch.testing.assert_close(model.forward_head(tokens), tokens[:, 0])
    assert [f['module'] for f in model.feature_info] == [f'blocks.{i}' for i in range(4)]
    assert model.feature_info[0] == dict(num_chs=64, reduction=14, module='blocks.0')
    avg = create_model('tiny', global_pool='avg')
    avg.load_state_dict(model.state_dict())
    torch.testing.assert_close(avg(X), tokens[:, 1:].mean(1))
    # kwargs reach InternViT; the cfg follows the model's size
    big = create_model('TINY', img_size=112, drop_path_rate=0.1)
    assert big.pretrained_cfg['input_size'] == (3, 112, 112)
    assert big.blocks[-1].drop_path.drop_prob == pytest.approx(0.1)


def test_pretrained_cfg_is_timms_and_matches_the_configs():
    cfg = create_model('tiny').pretrained_cfg
    assert cfg['input_size'] == (3, 56, 56) and cfg['interpolation'] == 'bicubic' and cfg['num_classes'] == 0
    assert cfg['crop_pct'] == 1.0 and cfg['mean'] == (0.485, 0.456, 0.406) and cfg['std'] == (0.229, 0.224, 0.225)
    # the one source of truth agrees with what the configs' data preprocessors use (0-255 units)
    for path, key in (('_base_/models/internvl_c_14b.py', 'model.data_preprocessor'),
                      ('_base_/datasets/imagenet_probe_224.py', 'data_preprocessor'),
                      ('_base_/datasets/imagenet_probe_448.py', 'data_preprocessor')):
        node = Config.fromfile(osp.join(CONFIGS_ROOT, path))
        for part in key.split('.'):
            node = node[part]
        np.testing.assert_allclose(np.array(node['mean']) / 255, DEFAULT_MEAN, atol=1e-6)
        np.testing.assert_allclose(np.array(node['std']) / 255, DEFAULT_STD, atol=1e-6)


def test_features_only_reuses_featmap_outputs():
    assert default_out_indices(48) == (11, 23, 35, 47) and default_out_indices(4) == (0, 1, 2, 3)
    assert default_out_indices(2) == (0, 1)
    model = create_model('tiny', features_only=True)
    assert isinstance(model, InternViTFeatures) and model.out_type == 'featmap'
    maps = model(X)
    assert isinstance(maps, list) and [m.shape for m in maps] == [(2, 64, 4, 4)] * 4
    picked = create_model('tiny', features_only=True, out_indices=(1, -1), img_size=112)
    picked.load_state_dict(model.state_dict())
    assert picked.feature_info == [dict(num_chs=64, reduction=14, module='blocks.1'),
                                   dict(num_chs=64, reduction=14, module='blocks.3')]
    assert picked.feature_info.channels() == [64, 64] and picked.feature_info.reduction() == [14, 14]
    out = picked(torch.randn(1, 3, 112, 112))
    assert [m.shape for m in out] == [(1, 64, 8, 8)] * 2
    # the same maps as InternViT itself gives
    plain = InternViT('tiny', out_type='featmap', out_indices=(1, 3))
    plain.load_state_dict(model.state_dict())
    for a, b in zip(model(X)[1::2], plain(X)):
        torch.testing.assert_close(a, b)


def test_pretrained_true_loads_the_zoo_release(hub, release):
    publish(hub, 'internvit-6b-224px', release)
    model = create_model('internvit-6b-224px', pretrained=True, arch='tiny')
    assert_weights(model, release.state_dict)
    assert model.pretrained_cfg['hf_hub_id'] == 'OpenGVLab/InternViT-6B-224px'
    assert model.init_cfg == dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px')
    assert model.pretrained_cfg['file'] == 'zoo://internvit-6b-224px'
    assert create_model('tiny').pretrained_cfg['file'] is None
    features = create_model('zoo://InternViT-6B-224px', pretrained=True, arch='tiny', features_only=True)
    assert_weights(features, release.state_dict)


def test_pretrained_path_loads_a_local_checkpoint(tmp_path):
    source = random_internvit('tiny')
    save_safetensors_shards(to_hf_layout(source.state_dict()), str(tmp_path), max_shard_bytes=1 << 30)
    model = create_model('tiny', pretrained=str(tmp_path))
    assert_weights(model, source.state_dict())
    torch.testing.assert_close(model.forward_features(X), source(X)[-1])


def test_errors_name_the_fix():
    with pytest.raises(ConfigError, match=r"unknown InternViT model 'tinyy'; did you mean 'tiny'"):
        create_model('tinyy')
    with pytest.raises(ConfigError, match=r"did you mean 'internvit-6b-224px'"):
        create_model('internvit-6b-224')
    with pytest.raises(ConfigError, match=r"'tiny' is an architecture preset without released weights; "
                                          r"pretrained=True needs a zoo name \(internvit-"):
        create_model('tiny', pretrained=True)
    with pytest.raises(ConfigError, match='features_only=True'):
        create_model('tiny', out_indices=(1, ))
    with pytest.raises(ConfigError, match='out_indices'):
        create_model('tiny', features_only=True, out_indices=(7, ))
    with pytest.raises(ConfigError, match='unexpected keyword'):
        create_model('tiny', img_sizee=3)
    with pytest.raises(ConfigError, match='out_type'):
        create_model('tiny', out_type='raw')
    with pytest.raises(ConfigError, match=r"unknown model 'internvl-c-14'; did you mean 'internvl-c-14b'"):
        create_model_and_transforms('internvl-c-14')
    with pytest.raises(ConfigError, match='does not exist'):
        create_model_and_transforms('no/such/config.py')
    with pytest.raises(MissingFileError, match='neither a folder nor a model name'):
        get_tokenizer('no-such-tokenizer')
    with pytest.raises(MissingFileError, match='without a text tower or tokenizer; use one of internvl-c-14b'):
        get_tokenizer('internvit-6b-224px')  # refused before any download


def test_the_exports_and_the_layer_above_zoo():
    assert internvl_mm.create_model is create_model and 'get_tokenizer' in internvl_mm.__all__
    from tests.test_layers import import_graph
    graph = import_graph()
    below = [m for m, targets in graph.items() if not m.startswith('internvl_mm.apis') and m != 'internvl_mm'
             for t in targets if t.startswith('internvl_mm.apis')]
    assert below == []


# -- InternVL: create_model_and_transforms and get_tokenizer ---------------------------------------------------------
def tiny_internvl_release(tokenizer_folder: str) -> Release:
    """A tiny InternVL-C/G in the official InternVL-14B-224px layout, with a tokenizer, as the hub serves it."""
    model = internvl_mm.registry.MODELS.build(dict(type='InternVL', **TINY_INTERNVL))
    model.init_weights()
    state = model.release_state_dict()
    import tempfile
    files = {}
    with tempfile.TemporaryDirectory() as folder:
        save_safetensors_shards(state, folder, max_shard_bytes=1 << 30)
        for name in os.listdir(folder):
            with open(osp.join(folder, name), 'rb') as f:
                files[name] = f.read()
    for name in os.listdir(tokenizer_folder):
        with open(osp.join(tokenizer_folder, name), 'rb') as f:
            files[name] = f.read()
    return Release(files, model.state_dict())


@pytest.fixture
def tiny_internvl(monkeypatch):
    """The InternVL-14B names build the tiny InternVL."""
    for key, entry in list(INTERNVL_MODELS.items()):
        monkeypatch.setitem(INTERNVL_MODELS, key, dict(entry, model=dict(TINY_INTERNVL, mode=entry['model']['mode'])))


def test_internvl_with_transforms_and_itc_tokenizer(shapes_caption):
    folder = osp.join(shapes_caption, 'tokenizer')
    model, preprocess = create_model_and_transforms('internvl-c-14b', backbone=dict(arch='tiny'),
                                                    qllama=dict(arch='tiny'), num_query_token=0, embed_dim=32,
                                                    attn_pool_num_heads=4)
    assert model.mode == 'InternVL-C' and model.vision_model.embed_dims == 64
    assert model.pretrained_cfg['input_size'] == (3, 56, 56)
    image = Image.fromarray(np.random.RandomState(0).randint(0, 255, (70, 90, 3), dtype=np.uint8))
    pixels = preprocess(image)
    assert pixels.shape == (3, 56, 56)
    # short edge to 56 (bicubic), centre crop, ImageNet normalisation
    resized = np.asarray(image.resize((72, 56), Image.BICUBIC), dtype=np.float32)[:, 8:64] / 255
    expected = (resized - np.array(DEFAULT_MEAN, dtype=np.float32)) / np.array(DEFAULT_STD, dtype=np.float32)
    np.testing.assert_allclose(pixels.permute(1, 2, 0).numpy(), expected, atol=1e-5)
    assert model.encode_image(pixels[None]).shape == (1, 32)

    tokenizer = get_tokenizer(folder, context_length=48)
    plain = InternVLTokenizer(folder, 48)
    ids = tokenizer(['a large red circle at the center', 'two shapes'])
    torch.testing.assert_close(ids, plain.encode(['a large red circle at the center', 'two shapes'],
                                                 prefix=ITC_PREFIX)[0])
    torch.testing.assert_close(tokenizer('two shapes'), ids[1:])
    torch.testing.assert_close(tokenizer([ITC_PREFIX + 'two shapes']), ids[1:])  # never prefixed twice
    with torch.no_grad():
        text = model.encode_text(ids)
        reference = model.encode_text(plain.encode(['a large red circle at the center', 'two shapes'],
                                                   prefix=ITC_PREFIX)[0])
        unprefixed = model.encode_text(plain.encode(['a large red circle at the center', 'two shapes'])[0])
    torch.testing.assert_close(text, reference)
    assert not torch.allclose(text, unprefixed)


def test_internvl_pretrained_through_the_zoo(hub, shapes_caption, tiny_internvl):
    release = tiny_internvl_release(osp.join(shapes_caption, 'tokenizer'))
    publish(hub, 'internvl-14b-224px', release)
    model, preprocess = create_model_and_transforms('internvl-g-14b', pretrained=True)
    assert model.mode == 'InternVL-G'
    assert_weights(model, release.state_dict)
    tokenizer = get_tokenizer('internvl-g-14b', context_length=48)
    assert tokenizer.folder == model.tokenizer_path
    with torch.no_grad():
        text = model.encode_text(tokenizer(['one shape']))
    assert text.shape == (1, 32)
    # create_model on the same release gives its vision tower
    tower = create_model('internvl-14b-224px', pretrained=True, arch='tiny')
    assert_weights(tower, {k[len('vision_model.'):]: v for k, v in release.state_dict.items()
                           if k.startswith('vision_model.')})


def test_a_config_file(tmp_path, shapes_caption):
    config = osp.join(DEMO_CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py')
    model, preprocess = create_model_and_transforms(config, tokenizer=osp.join(shapes_caption, 'tokenizer'))
    assert model.pretrained_cfg['mean'] == (0.5, 0.5, 0.5) and model.pretrained_cfg['input_size'] == (3, 48, 48)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ckpt.pth')
    again, _ = create_model_and_transforms(config, pretrained=str(tmp_path / 'ckpt.pth'),
                                           tokenizer=osp.join(shapes_caption, 'tokenizer'))
    assert_weights(again, model.state_dict())
    assert preprocess(Image.new('RGB', (64, 48))).shape == (3, 48, 48)
    with pytest.raises(ConfigError, match='names no zoo release'):
        create_model_and_transforms(config, pretrained=True)


"""``zoo://`` end to end: init_cfg and load_from fetch through the fake hub and load into a small model; in a
two-rank job only rank 0 downloads; pickled releases are used only without safetensors, and safely."""
import hashlib
import io
import os
import socket
import subprocess
import sys

import torch
from mmengine.runner.checkpoint import load_checkpoint

from internvl_mm import zoo
from internvl_mm.models import InternViT
from tests.helpers import ROOT, to_hf_layout, torchrun_succeeded
from tests.zoo.conftest import make_release, publish


def assert_same_weights(model, state_dict):
    own = model.state_dict()
    assert own.keys() == state_dict.keys()
    for key, value in state_dict.items():
        assert torch.equal(own[key], value), key


def test_init_cfg_zoo_uri_downloads_and_loads_into_a_small_model(hub, release):
    publish(hub, 'internvit-6b-224px', release)
    model = InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px'))
    model.init_weights()
    assert_same_weights(model, release.state_dict)
    hub.requests.clear()  # a second model is served from the cache alone
    InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://InternViT-6B-224px')).init_weights()
    assert hub.requests == []


def test_load_from_zoo_uri_goes_through_mmengine_checkpoint_loader(hub, release):
    publish(hub, 'internvit-6b-448px-v2_5', release)
    classifier = torch.nn.Module()
    classifier.backbone = InternViT('tiny')
    load_checkpoint(classifier, 'zoo://internvit-6b-448px-v2_5', strict=True)
    assert_same_weights(classifier.backbone, release.state_dict)


def test_the_14b_release_gives_its_vision_tower_and_tokenizer(hub):
    other = {'qllama.model.embed_tokens.weight': torch.randn(32, 8), 'clip_projector.weight': torch.randn(8, 64),
             'logit_scale': torch.tensor(4.6)}
    release = make_release(prefix='vision_model.', other_tensors=other)
    release.files.update({'tokenizer.model': b'sentencepiece model', 'tokenizer_config.json': b'{}',
                          'special_tokens_map.json': b'{}'})
    publish(hub, 'internvl-14b-224px', release)
    model = InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://internvl-14b-224px'))
    model.init_weights()
    assert_same_weights(model, release.state_dict)
    assert {'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json'} <= set(
        os.listdir(zoo.local_path('internvl-14b-224px')))


def test_safetensors_are_preferred_and_pickles_are_used_only_without_them(hub, release):
    buffer = io.BytesIO()
    torch.save(to_hf_layout(release.state_dict), buffer)
    pickle_bytes = buffer.getvalue()
    publish(hub, 'internvit-300m-448px', release)
    hub.repos['OpenGVLab/InternViT-300M-448px'].files['pytorch_model.bin'] = pickle_bytes
    assert 'pytorch_model.bin' not in os.listdir(zoo.download('internvit-300m-448px', progress=False))
    assert hub.gets('pytorch_model.bin') == []
    publish(hub, 'internvit-300m-448px-v2_5', make_release())
    hub.repos['OpenGVLab/InternViT-300M-448px-V2_5'].files = {'pytorch_model.bin': pickle_bytes,
                                                               'config.json': b'{}'}
    model = InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-300m-448px-v2_5'))
    model.init_weights()  # read with torch.load(weights_only=True) by internvl_mm.weights
    assert_same_weights(model, release.state_dict)


def test_two_ranks_download_once_and_stop_together_on_failure(hub, release):
    publish(hub, 'internvit-6b-224px', release)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port', str(port),
         os.path.join(ROOT, 'tests', 'zoo', 'two_rank_loading.py')],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert torchrun_succeeded(result), result.stderr[-3000:]
    weights = hashlib.sha256(b''.join(t.numpy().tobytes() for t in release.state_dict.values())).hexdigest()
    for rank in (0, 1):
        assert f'rank={rank} weights={weights}' in result.stdout
    # Only rank 0 talked to the hub: one file list, one transfer per file, nothing from rank 1.
    listing = [r for r in hub.requests if r[1] == '/api/models/OpenGVLab/InternViT-6B-224px/revision/main']
    assert len(listing) == 1
    assert sorted(r[1].rsplit('/', 1)[1] for r in hub.gets('/resolve/')) == sorted(
        p for p in release.files if p.endswith(('.safetensors', '.json')))
    assert 'rank=0 error=internvit-300m-448px: listing the files of OpenGVLab/InternViT-300M-448px@main' in (
        result.stdout)
    assert ('rank=1 error=rank 0 could not fetch the weights, so rank 1 stops too: ZooError: '
            'internvit-300m-448px: listing the files') in result.stdout


def _resized_release(release, grid):
    """The release's weights as a model with a ``grid`` x ``grid`` position embedding holds them."""
    from internvl_mm.models.backbones.intern_vit_checkpoint import resize_pos_embed
    expected = dict(release.state_dict)
    expected['pos_embed'] = resize_pos_embed(expected['pos_embed'], (4, 4), (grid, grid))
    return expected


def test_load_from_zoo_uri_into_an_mmseg_segmentor_resizes_the_position_embedding(hub, release):
    from mmengine.registry import init_default_scope

    from internvl_mm.registry import MODELS
    publish(hub, 'internvit-6b-224px', release)
    init_default_scope('mmseg')
    segmentor = MODELS.build(dict(
        type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', size=(84, 84)),
        backbone=dict(type='InternViT', arch='tiny', img_size=84, out_type='featmap'),
        decode_head=dict(type='FCNHead', in_channels=64, channels=16, num_convs=1, num_classes=3)))
    checkpoint = load_checkpoint(segmentor, 'zoo://internvit-6b-224px', strict=False)  # as the runner's load_from
    assert checkpoint['meta'] == {'zoo': 'internvit-6b-224px'}
    assert_same_weights(segmentor.backbone, _resized_release(release, 6))


def test_load_from_zoo_uri_into_internvl_models(hub, release):
    from internvl_mm.models.pretrainers import InternVL
    tiny = dict(backbone=dict(arch='tiny', img_size=84), qllama=dict(arch='tiny'), embed_dim=32,
                attn_pool_num_heads=4, num_query_token=0)
    publish(hub, 'internvit-6b-224px', release)  # a backbone-only release fills the vision tower
    model = InternVL(**tiny)
    load_checkpoint(model, 'zoo://internvit-6b-224px', strict=False)
    assert_same_weights(model.vision_model, _resized_release(release, 6))
    logit_scale = torch.tensor(2.5)  # the 14B release: the whole model's keys, a 0-d temperature
    full = make_release(prefix='vision_model.', other_tensors={'logit_scale': logit_scale})
    publish(hub, 'internvl-14b-224px', full)
    model = InternVL(**tiny)
    load_checkpoint(model, 'zoo://internvl-14b-224px', strict=False)
    assert_same_weights(model.vision_model, _resized_release(full, 6))
    assert model.logit_scale.shape == (1, ) and model.logit_scale.item() == 2.5

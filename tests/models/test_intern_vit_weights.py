"""Loading InternViT weights from every official layout, shape adaptation and clear errors."""
import json
import os
import os.path as osp
import pickle

import pytest
import torch
from safetensors.torch import save_file

from internvl_mm.models import InternViT, convert_checkpoint_key
from internvl_mm.registry import MODELS
from internvl_mm.weights import CheckpointError, open_state_dict, save_safetensors_shards
from tests.helpers import random_internvit, rel_err, to_hf_layout

X = torch.randn(2, 3, 56, 56)


@pytest.fixture
def source():
    return random_internvit('tiny')


def _output(model, x=X):
    with torch.no_grad():
        return model.eval()(x)[0]


def _load(path, arch='tiny', **kwargs):
    model = InternViT(arch, **kwargs)
    report = model.load_pretrained(path)
    return model, report


def test_convert_checkpoint_key():
    assert convert_checkpoint_key('embeddings.class_embedding') == 'cls_token'
    assert convert_checkpoint_key('embeddings.patch_embedding.bias') == 'patch_embed.proj.bias'
    assert convert_checkpoint_key('encoder.layers.7.ls2') == 'blocks.7.ls2.gamma'
    assert convert_checkpoint_key('encoder.layers.7.attn.q_norm.weight') == 'blocks.7.attn.q_norm.weight'
    assert convert_checkpoint_key('vision_model.encoder.layers.0.mlp.fc1.bias') == 'blocks.0.mlp.fc1.bias'
    assert convert_checkpoint_key('module.blocks.3.ls1.gamma') == 'blocks.3.ls1.gamma'
    for other in ('clip_projector.norm1_q.weight', 'mlp1.0.weight', 'language_model.model.norm.weight',
                  'qllama.model.layers.0.self_attn.q_proj.weight', 'query_tokens'):
        assert convert_checkpoint_key(other) is None


def test_hf_release_directory_single_file(tmp_path, source):
    save_file(to_hf_layout(source.state_dict()), str(tmp_path / 'model.safetensors'))
    (tmp_path / 'config.json').write_text('{}')
    model, report = _load(str(tmp_path))
    assert torch.equal(_output(model), _output(source)) and report['ignored'] == []


def test_hf_sharded_release(tmp_path, source):
    names = save_safetensors_shards(to_hf_layout(source.state_dict()), str(tmp_path), max_shard_bytes=100_000)
    assert len(names) >= 3
    for path in (str(tmp_path), str(tmp_path / 'model.safetensors.index.json')):
        model, _ = _load(path)
        assert torch.equal(_output(model), _output(source))


def test_pth_release_nested_with_clip_projector(tmp_path, source):
    state = dict(source.state_dict())
    state['clip_projector.norm1_q.weight'] = torch.ones(64)
    state['clip_projector.cross_attn.q.weight'] = torch.ones(64, 64)
    torch.save({'module': state}, tmp_path / 'intern_vit_6b_224px.pth')
    model, report = _load(str(tmp_path / 'intern_vit_6b_224px.pth'))
    assert torch.equal(_output(model), _output(source))
    assert sorted(report['ignored']) == ['clip_projector.cross_attn.q.weight', 'clip_projector.norm1_q.weight']


def test_chat_model_checkpoint(tmp_path, source):
    state = {f'vision_model.{k}': v for k, v in to_hf_layout(source.state_dict()).items()}
    state['mlp1.0.weight'] = torch.ones(3)
    state['language_model.model.embed_tokens.weight'] = torch.ones(4, 2)
    save_safetensors_shards(state, str(tmp_path), max_shard_bytes=50_000)
    model, report = _load(str(tmp_path))
    assert torch.equal(_output(model), _output(source)) and len(report['ignored']) == 2


@pytest.mark.parametrize('dtype,fmt', [(torch.bfloat16, 'safetensors'), (torch.float16, 'pth')])
def test_half_precision_checkpoints(tmp_path, source, dtype, fmt):
    half = {k: v.to(dtype) for k, v in to_hf_layout(source.state_dict()).items()}
    path = str(tmp_path / f'weights.{fmt}')
    save_file(half, path) if fmt == 'safetensors' else torch.save(half, path)
    model, _ = _load(path)
    rounded = random_internvit('tiny')
    rounded.load_state_dict({k: v.to(dtype).float() for k, v in source.state_dict().items()})
    assert torch.equal(_output(model), _output(rounded))
    assert model.pos_embed.dtype == torch.float32


def test_init_cfg_pretrained_with_prefix(tmp_path, source):
    """An mmpretrain classifier checkpoint (mmengine format, 'backbone.' prefix) loads through init_cfg."""
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 64)
    torch.save({'meta': {'epoch': 3, 'dataset_meta': {'classes': ('a', 'b')}}, 'state_dict': state},
               tmp_path / 'epoch_3.pth')
    model = MODELS.build(dict(type='InternViT', arch='tiny', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'epoch_3.pth'), prefix='backbone.')))
    model.init_weights()
    assert torch.equal(_output(model), _output(source))


def test_position_embedding_resized_at_load(tmp_path, source):
    torch.save(source.state_dict(), tmp_path / 'w.pth')
    model, _ = _load(str(tmp_path / 'w.pth'), img_size=84)  # 4x4 grid -> 6x6 grid
    assert model.pos_embed.shape == (1, 37, 64)
    x = torch.randn(1, 3, 84, 84)
    assert rel_err(_output(model, x), _output(source, x)) < 1e-6  # same as interpolating at run time


def test_patch_kernel_resized_at_load(tmp_path, source):
    torch.save(source.state_dict(), tmp_path / 'w.pth')
    model, _ = _load(str(tmp_path / 'w.pth'), patch_size=16, img_size=64)
    assert model.patch_embed.proj.weight.shape == (64, 3, 16, 16)
    flat = torch.full((1, 3, 14, 14), 0.7), torch.full((1, 3, 16, 16), 0.7)
    with torch.no_grad():  # a constant-colour patch embeds (almost) the same with either kernel
        assert rel_err(model.patch_embed(flat[1])[0], source.patch_embed(flat[0])[0]) < 0.02


def test_shape_mismatch_names_key_and_shapes(tmp_path):
    other = random_internvit(dict(embed_dims=64, num_layers=4, num_heads=2, feedforward_channels=128,
                                  img_size=56))
    torch.save(other.state_dict(), tmp_path / 'w.pth')
    with pytest.raises(CheckpointError, match=r'blocks\.0\.mlp\.fc1\.weight: checkpoint \(128, 64\) vs model \(256, 64\)'):
        _load(str(tmp_path / 'w.pth'))


def test_depth_mismatch_says_both_depths(tmp_path):
    torch.save(random_internvit(dict(embed_dims=64, num_layers=6, num_heads=2, feedforward_channels=256,
                                     img_size=56)).state_dict(), tmp_path / 'w.pth')
    with pytest.raises(CheckpointError, match='has 6 blocks but this InternViT has 4'):
        _load(str(tmp_path / 'w.pth'))


def test_missing_keys_are_an_error(tmp_path, source):
    state = {k: v for k, v in source.state_dict().items() if 'q_norm' not in k}
    torch.save(state, tmp_path / 'w.pth')
    with pytest.raises(CheckpointError, match=r'does not fit this InternViT: 4 model keys missing from it'):
        _load(str(tmp_path / 'w.pth'))


def test_extra_vit_weights_are_an_error_not_silently_dropped(tmp_path):
    """A 300M-style checkpoint (qkv bias) into an arch without qkv bias would load 'fine' and compute nonsense."""
    layer_norm = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128, img_size=56,
                      norm_type='layer_norm', qk_normalization=False)
    save_file(to_hf_layout(random_internvit(dict(layer_norm, qkv_bias=True)).state_dict()),
              str(tmp_path / 'model.safetensors'))
    with pytest.raises(CheckpointError, match=r"2 keys the model does not have \(e.g. "
                                              r"blocks.0.attn.qkv.bias"):
        InternViT(layer_norm).load_pretrained(str(tmp_path))


def test_300m_layout_round_trip(tmp_path):
    """The 300M family (LayerNorm with bias, qkv bias, no QK-norm) in the Hugging Face layout."""
    arch = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128, img_size=56,
                norm_type='layer_norm', qk_normalization=False, qkv_bias=True)
    source = random_internvit(arch)
    hf = to_hf_layout(source.state_dict())
    assert {'encoder.layers.0.norm1.bias', 'encoder.layers.0.attn.qkv.bias'} <= set(hf)
    save_file(hf, str(tmp_path / 'model.safetensors'))
    model = InternViT(arch)
    assert model.load_pretrained(str(tmp_path))['ignored'] == []
    assert torch.equal(_output(model), _output(source))


def test_not_an_internvit_checkpoint(tmp_path):
    torch.save({'fc.weight': torch.ones(2, 2)}, tmp_path / 'w.pth')
    with pytest.raises(CheckpointError, match='holds no InternViT weights'):
        _load(str(tmp_path / 'w.pth'))


class Payload:
    """Stands for an arbitrary pickled object that a weights-only load must refuse."""

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_unsafe_pickle_is_refused(tmp_path, source):
    state = dict(source.state_dict(), evil=Payload())
    with open(tmp_path / 'evil.pth', 'wb') as f:
        pickle.dump(state, f)
    with pytest.raises(CheckpointError, match='can not be loaded safely.*weights_only=True'):
        open_state_dict(str(tmp_path / 'evil.pth'))


def test_truncated_files_are_reported(tmp_path, source):
    save_file(to_hf_layout(source.state_dict()), str(tmp_path / 'model.safetensors'))
    data = (tmp_path / 'model.safetensors').read_bytes()
    (tmp_path / 'model.safetensors').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated'):
        _load(str(tmp_path / 'model.safetensors'))
    torch.save(source.state_dict(), tmp_path / 'w.pth')
    data = (tmp_path / 'w.pth').read_bytes()
    (tmp_path / 'w.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        _load(str(tmp_path / 'w.pth'))


def test_incomplete_shard_set_is_reported(tmp_path, source):
    names = save_safetensors_shards(to_hf_layout(source.state_dict()), str(tmp_path), max_shard_bytes=100_000)
    os.remove(tmp_path / names[-1])
    with pytest.raises(CheckpointError, match=f'lists shards that are not there.*{names[-1]}'):
        open_state_dict(str(tmp_path))


def test_directory_without_weights(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps({}))
    with pytest.raises(CheckpointError, match='directory without'):
        open_state_dict(str(tmp_path))
    with pytest.raises(CheckpointError, match='does not exist'):
        open_state_dict(osp.join(str(tmp_path), 'nope.pth'))


def test_release_keys_round_trip_through_the_one_key_table(source):
    from internvl_mm.models.backbones import to_release_key
    for name in source.state_dict():
        assert convert_checkpoint_key(to_release_key(name)) == name
    assert to_release_key('blocks.2.ls1.gamma') == 'encoder.layers.2.ls1'
    assert source.release_state_dict().keys() == to_hf_layout(source.state_dict()).keys()


def test_plain_load_state_dict_reads_the_release_layout_and_resizes(source):
    """The adapter is a load-state-dict pre-hook: torch's own load_state_dict (strict) takes the Hugging Face layout
    of another grid, as init_cfg does."""
    model = InternViT('tiny', img_size=84)
    model.load_state_dict(to_hf_layout(source.state_dict()), strict=True)
    x = torch.randn(1, 3, 84, 84)
    assert rel_err(_output(model, x), _output(source, x)) < 1e-6
    with pytest.raises(CheckpointError, match='has 4 blocks but this InternViT has 2'):
        InternViT(dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=256, img_size=56)
                  ).load_state_dict(to_hf_layout(source.state_dict()))


def test_position_embedding_resize_matches_the_official_interpolation():
    """timm's resampling (no antialiasing) gives the official InternViT's ``_get_pos_embed`` result, up and down."""
    import torch.nn.functional as F

    from internvl_mm.models.backbones.intern_vit_checkpoint import resize_pos_embed
    pos = torch.randn(1, 1 + 16 * 16, 32)
    for size in (10, 16, 32):
        grid = pos[:, 1:].float().reshape(1, 16, 16, -1).permute(0, 3, 1, 2)
        official = F.interpolate(grid, size=(size, size), mode='bicubic', align_corners=False)
        official = torch.cat([pos[:, :1], official.reshape(1, -1, size * size).permute(0, 2, 1)], dim=1)
        assert torch.equal(resize_pos_embed(pos, (16, 16), (size, size)), official)


def test_nothing_is_read_from_a_checkpoint_that_does_not_fit(tmp_path, source, monkeypatch):
    """Keys and shapes are checked on the lazy placeholders before any tensor is read."""
    import safetensors
    state = to_hf_layout(source.state_dict())
    state['encoder.layers.0.mlp.fc1.weight'] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / 'model.safetensors'))
    reads = []
    real_open = safetensors.safe_open

    class CountingFile:
        def __init__(self, *args, **kwargs):
            self._file = real_open(*args, **kwargs)

        def get_tensor(self, key):
            reads.append(key)
            return self._file.get_tensor(key)

        def __getattr__(self, name):
            return getattr(self._file, name)

    monkeypatch.setattr(safetensors, 'safe_open', CountingFile)
    with pytest.raises(CheckpointError, match='1 shape mismatches'):
        InternViT('tiny').load_pretrained(str(tmp_path))
    assert reads == []
    save_file(to_hf_layout(source.state_dict()), str(tmp_path / 'model.safetensors'))
    InternViT('tiny').load_pretrained(str(tmp_path))
    assert len(reads) == len(source.state_dict())  # the counter sees reads: each tensor read once, when it fits

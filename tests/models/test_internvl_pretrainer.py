"""InternVL-C / -G: the official key layout both ways, stage-1 -> stage-2 loading, embeddings, losses, freezing."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from internvl_mm.engine.checkpoints import load_checkpoint_strict
from internvl_mm.models.pretrainers import (STAGE2_NEW_PARTS, STAGE2_TRAINABLE, InternVL, contrastive_loss,
                                            convert_internvl_key, internvl_key_to_official, sample_hard_negatives)
from internvl_mm.weights import CheckpointError, save_safetensors_shards

TINY = dict(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), embed_dim=32, attn_pool_num_heads=4)


def build(num_query_token=8, **kwargs):
    model = InternVL(**dict(TINY, num_query_token=num_query_token, **kwargs))
    model.init_weights()
    with torch.no_grad():  # make the zero-initialised parts non-trivial, so that a missed copy shows
        for name, p in model.named_parameters():
            if name.endswith(('bias', 'gamma')) or 'norm' in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def samples(batch=4, length=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 256, (batch, length), generator=g)
    ids[:, 0], ids[:, -1] = 1, 2
    ids[1, 6:] = 0
    ids[1, 5] = 2
    labels = ids.masked_fill(ids == 0, -100)
    labels[:, :3] = -100
    out = []
    for i in range(batch):
        s = DataSample()
        s.set_field(ids[i:i + 1], 'text_ids')
        s.set_field(ids[i], 'itm_ids')
        s.set_field(ids[i], 'itg_ids')
        s.set_field(labels[i], 'itg_labels')
        out.append(s)
    return out


def test_release_state_dict_is_the_official_layout_and_checkpoints_keep_parameter_names():
    model = build()
    assert set(model.state_dict()) == {n for n, _ in model.named_parameters()}
    keys = set(model.release_state_dict())
    for key in ('vision_model.embeddings.class_embedding', 'vision_model.embeddings.position_embedding',
                'vision_model.embeddings.patch_embedding.weight', 'vision_model.encoder.layers.0.ls1',
                'vision_model.encoder.layers.3.attn.qkv.weight', 'vision_model.encoder.layers.3.attn.q_norm.weight',
                'qllama.model.embed_tokens.weight', 'qllama.model.layers.0.cross_attn.norm2.weight',
                'qllama.model.layers.1.post_attention_layernorm.weight', 'qllama.model.norm.weight',
                'qllama.lm_head.weight', 'query_tokens', 'text_projection', 'logit_scale',
                'clip_projector.cross_attn.q_bias', 'clip_projector2.norm1_k.weight', 'itm_head.bias'):
        assert key in keys, key
    assert not any('.cross_attn.' in k and k.startswith('qllama.model.layers.1.') for k in keys)
    assert not any(k.startswith(('vision_model.blocks', 'vision_model.cls_token')) for k in keys)
    for name, _ in model.named_parameters():
        assert convert_internvl_key(internvl_key_to_official(name)) == name
    assert convert_internvl_key('module.qllama.lm_head.weight') == 'qllama.lm_head.weight'
    assert convert_internvl_key('mlp1.0.weight') is None


def test_official_14b_shapes_on_meta():
    with torch.device('meta'):
        model = InternVL(backbone=dict(arch='6b-224'), qllama=dict(arch='8b'), num_query_token=96)
    shapes = {k: tuple(v.shape) for k, v in model.release_state_dict().items()}
    expected = {
        'vision_model.encoder.layers.47.attn.qkv.weight': (9600, 3200),
        'vision_model.embeddings.position_embedding': (1, 257, 3200),
        'qllama.model.embed_tokens.weight': (49954, 4096),
        'qllama.model.layers.30.cross_attn.v_proj.weight': (4096, 3200),
        'query_tokens': (1, 96, 4096),
        'text_projection': (4096, 768),
        'logit_scale': (),
        'clip_projector.cross_attn.q.weight': (3200, 3200),
        'clip_projector.cross_attn.proj.weight': (768, 3200),
        'clip_projector2.cross_attn.q.weight': (4096, 4096),
        'clip_projector2.norm1_v.bias': (4096, ),
        'itm_head.weight': (2, 4096),
    }
    for key, shape in expected.items():
        assert shapes[key] == shape, key
    total = sum(v.numel() for v in model.parameters())
    assert 13.5e9 < total < 14.5e9  # InternVL-14B


def test_save_and_reload_the_official_layout(tmp_path):
    model = build()
    folder = str(tmp_path / 'release')
    save_safetensors_shards(model.release_state_dict(), folder, max_shard_bytes=300_000)
    images = torch.randn(2, 3, 56, 56)
    reloaded = InternVL(**dict(TINY, num_query_token=8, init_cfg=dict(type='Pretrained', checkpoint=folder)))
    reloaded.init_weights()
    reloaded.eval()
    torch.testing.assert_close(reloaded.encode_image(images, 'InternVL-G'), model.encode_image(images, 'InternVL-G'))
    strict = build()  # the tools' strict loader reads the release folder as it is
    load_checkpoint_strict(strict, folder)
    torch.testing.assert_close(strict.encode_image(images, 'InternVL-G'), model.encode_image(images, 'InternVL-G'))
    other = InternVL(**dict(TINY, num_query_token=8, embed_dim=16,
                            init_cfg=dict(type='Pretrained', checkpoint=folder)))
    with pytest.raises(CheckpointError, match='shape mismatches'):
        other.init_weights()


def test_strict_loader_reads_parameter_names_as_deepspeed_consolidates_them(tmp_path):
    """A ZeRO checkpoint is consolidated under the modules' parameter names (vision_model.blocks.N..., not the
    release layout): tools/test.py must read it, and still name what does not fit."""
    model = build()
    internal = {name: p.detach().clone() for name, p in model.named_parameters()}
    assert 'vision_model.cls_token' in internal
    path = str(tmp_path / 'consolidated.pth')
    torch.save({'state_dict': internal}, path)
    strict = build()
    load_checkpoint_strict(strict, path)
    images = torch.randn(2, 3, 56, 56)
    torch.testing.assert_close(strict.encode_image(images, 'InternVL-G'), model.encode_image(images, 'InternVL-G'))
    del internal['itm_head.bias']
    internal['vision_model.blocks.0.attn.proj.weight'] = torch.zeros(3, 3)
    torch.save({'state_dict': internal}, path)
    with pytest.raises(CheckpointError, match=r'1 shape mismatches \(e.g. vision_model.blocks.0.attn.proj.weight: '
                                               r'checkpoint \(3, 3\)'):
        load_checkpoint_strict(build(), path)
    internal.pop('vision_model.blocks.0.attn.proj.weight')
    torch.save({'state_dict': internal}, path)
    with pytest.raises(CheckpointError, match='2 model keys missing'):
        load_checkpoint_strict(build(), path)


def test_stage2_starts_from_a_stage1_checkpoint(tmp_path):
    stage1 = build(num_query_token=0, backbone=dict(arch='tiny', img_size=42))  # 196 px -> 224 px, in small
    path = str(tmp_path / 'stage1.safetensors')
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in stage1.state_dict().items()}, path)
    stage2 = InternVL(**dict(TINY, num_query_token=8, init_cfg=dict(type='Pretrained', checkpoint=path)))
    with pytest.raises(CheckpointError, match='allow_missing'):
        stage2.init_weights()
    stage2 = InternVL(**dict(TINY, num_query_token=8, init_cfg=dict(type='Pretrained', checkpoint=path,
                                                                    allow_missing=STAGE2_NEW_PARTS)))
    report = stage2.load_pretrained(path, STAGE2_NEW_PARTS)
    assert report['missing'] and all(('cross_attn' in n and n.startswith('qllama.model.layers')) or n.startswith(
        ('query_tokens', 'clip_projector2', 'itm_head', 'qllama.lm_head')) for n in report['missing'])
    torch.testing.assert_close(stage2.text_projection, stage1.text_projection)
    new_parts = dict(stage2.named_parameters())
    for name in report['missing']:  # initialised by their recipes, not left as allocated
        value = new_parts[name]
        if name.endswith('bias'):
            assert not value.any(), name
        elif value.dim() == 1:
            assert torch.equal(value, torch.ones_like(value)), name
        else:
            assert 0.015 < value.std() < 0.025, name
    assert stage2.vision_model.pos_embed.shape[1] == 1 + 16  # resized from the 3x3 grid to 4x4
    ids = torch.tensor([[1, 7, 9, 2]])
    stage1.eval(), stage2.eval()
    torch.testing.assert_close(stage2.encode_text(ids), stage1.encode_text(ids))


def test_image_and_text_embeddings():
    model = build()
    images = torch.randn(3, 3, 56, 56)
    with torch.no_grad():
        vision = model.vision_model(images)[-1]
        c = model.encode_image(images, 'InternVL-C')
        g = model.encode_image(images, 'InternVL-G')
        b = F.normalize(model.clip_projector(vision), dim=-1)
        q = F.normalize(model.clip_projector2(model.query_features(vision)), dim=-1)
    torch.testing.assert_close(c, b)
    torch.testing.assert_close(g, F.normalize(b + q, dim=-1))
    assert model(images, mode='tensor').shape == (3, 32)
    ids = torch.tensor([[1, 5, 6, 7, 2, 0, 0], [1, 8, 2, 0, 0, 0, 0]])
    with torch.no_grad():
        text = model.encode_text(ids)
        # the EOS is pooled: more padding, or anything after the EOS, changes nothing
        assert torch.allclose(model.encode_text(F.pad(ids, (0, 5))), text, atol=1e-6)
        causal = torch.ones(1, 1, 5, 5, dtype=torch.bool).tril()
        eos = model.qllama(ids[:1, :5], attention_mask=causal)[:, 4] @ model.text_projection
    torch.testing.assert_close(text[0], F.normalize(eos[0], dim=-1))


def test_contrastive_loss_and_clamped_temperature():
    g = torch.Generator().manual_seed(1)
    image = F.normalize(torch.randn(5, 8, generator=g), dim=-1)
    text = F.normalize(torch.randn(5, 8, generator=g), dim=-1)
    scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    loss, logits = contrastive_loss(image, text, scale)
    sims = image @ text.t() / 0.07
    expected = (F.cross_entropy(sims, torch.arange(5)) + F.cross_entropy(sims.t(), torch.arange(5))) / 2
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(logits, sims)
    loss.backward()
    assert scale.grad.abs() > 0
    big = torch.tensor(math.log(500.0), requires_grad=True)
    loss, logits = contrastive_loss(image, text, big)
    loss.backward()
    torch.testing.assert_close(logits, image @ text.t() * 100)  # clamped at 100, as CLIP
    assert big.grad == 0


def test_hard_negatives_follow_the_similarity_and_skip_identical_texts():
    torch.manual_seed(0)
    ids = torch.tensor([[1, 5, 2], [1, 6, 2], [1, 7, 2], [1, 5, 2]])  # texts 0 and 3 are identical
    logits = torch.tensor([[9., 0., 8., 9.], [0., 9., -20., 0.], [0., 0., 9., 0.], [9., 0., 8., 9.]])
    counts = torch.zeros(4, 4)
    for _ in range(300):
        index, valid = sample_hard_negatives(logits, ids)
        counts[torch.arange(4), index] += 1
    assert valid.all()
    assert counts[0, 0] == counts[0, 3] == counts[3, 0] == counts[3, 3] == 0  # never the image's own caption
    assert counts[torch.arange(4), torch.arange(4)].sum() == 0
    assert counts[0, 2] > 250 and counts[1, 2] < 5  # drawn by similarity
    index, valid = sample_hard_negatives(torch.zeros(2, 2), torch.tensor([[1, 5, 2], [1, 5, 2]]))
    assert not valid.any()  # nothing but the same caption: no negative


def test_hard_negative_hardness_goes_from_uniform_to_mined():
    torch.manual_seed(0)
    ids = torch.tensor([[1, 5, 2], [1, 6, 2], [1, 7, 2]])
    logits = torch.tensor([[9., 9., -9.], [0., 9., 0.], [0., 0., 9.]])
    counts = {h: torch.zeros(3) for h in (0.0, 1.0)}
    for _ in range(600):
        for hardness, count in counts.items():
            count[sample_hard_negatives(logits, ids, hardness)[0][0]] += 1
    assert counts[0.0][0] == counts[1.0][0] == 0  # never the image's own caption, whatever the hardness
    assert 240 < counts[0.0][1] < 360  # hardness 0: uniform over the other captions
    assert counts[1.0][2] < 3  # hardness 1: the mined one, as before (e^-18 against e^9)
    with pytest.raises(ValueError, match='hardness must be in'):
        sample_hard_negatives(logits, ids, 1.5)


def test_stage2_trains_only_the_new_parts():
    model = build(mode='InternVL-G', losses=('itc', 'itm', 'itg'), trainable=STAGE2_TRAINABLE).train()
    losses = model(torch.randn(4, 3, 56, 56), samples(), mode='loss')
    assert set(losses) == {'loss_itc', 'loss_itm', 'loss_itg', 'logit_scale'}
    assert losses['loss_itm'].item() > 0 and losses['loss_itg'].item() > 0
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert with_grad == trainable
    assert any('.cross_attn.' in n for n in trainable) and 'query_tokens' in trainable
    assert not any(n.startswith(('vision_model', 'clip_projector.', 'text_projection')) for n in trainable)
    assert not any(n.startswith('qllama') and 'cross_attn' not in n for n in trainable)
    with pytest.raises(ValueError, match='match no parameter'):
        build(trainable=('query_token', ))


def test_itm_batch_pairs_half_with_hard_negatives(monkeypatch):
    model = build(mode='InternVL-G', losses=('itm', )).train()
    seen = {}
    original = model.qllama.forward

    def spy(input_ids=None, **kwargs):
        seen['ids'] = input_ids
        return original(input_ids, **kwargs)

    monkeypatch.setattr(model.qllama, 'forward', spy)
    batch = samples(batch=6)
    model(torch.randn(6, 3, 56, 56), batch, mode='loss')
    own = torch.stack([s.itm_ids for s in batch])[:, :seen['ids'].shape[1]]
    assert not (seen['ids'][:3] == own[:3]).all(1).any()  # the first half: negatives
    assert (seen['ids'][3:] == own[3:]).all()  # the second half: their own captions


def test_zero_shot_needs_a_tokenizer_and_checks_configuration():
    with pytest.raises(ValueError, match='num_query_token'):
        InternVL(**dict(TINY, num_query_token=0, mode='InternVL-G'))
    with pytest.raises(ValueError, match='subset'):
        InternVL(**dict(TINY, losses=('itc', 'mlm')))
    model = InternVL(**dict(TINY, num_query_token=0, zero_shot=dict(class_names=['a', 'b'], templates=['{}'])))
    with pytest.raises(ValueError, match='model.tokenizer'):
        model.zero_shot_classifier()
    model = InternVL(**dict(TINY, num_query_token=0, tokenizer='/nonexistent',
                            zero_shot=dict(class_names=['a'], templates=['x {}'])))
    with pytest.raises(FileNotFoundError, match='tokenizer folder'):
        model.predict(torch.randn(1, 3, 56, 56))
    with pytest.raises(ValueError, match='exactly one'):
        InternVL(**dict(TINY, zero_shot=dict(class_names=['a'], templates=['no slot'])))


def test_zero_shot_classifier_averages_prompt_embeddings(shapes_caption):
    from internvl_mm.models.language import InternVLTokenizer
    tokenizer = f'{shapes_caption}/tokenizer'
    model = build(num_query_token=0, qllama=dict(arch='tiny'), tokenizer=tokenizer,
                  zero_shot=dict(class_names=['red circle', 'blue cross'], templates=['a {}', 'a large {}']))
    weights = model.zero_shot_classifier()
    tok = InternVLTokenizer(tokenizer, 80)
    ids, _ = tok.encode(['a red circle', 'a large red circle'], prefix='summarize:')
    with torch.no_grad():
        expected = F.normalize(model.encode_text(ids).mean(0), dim=-1)
    torch.testing.assert_close(weights[0], expected)
    out = model.predict(torch.randn(2, 3, 56, 56), [DataSample(), DataSample()])
    assert out[0].pred_score.shape == (2, ) and out[0].image_embeds.shape == (32, )
    model.train()
    assert model._classifier is None  # recomputed after training


def test_mmengine_checkpoint_functions_keep_parameter_names_and_read_the_official_layout():
    from mmengine.runner.checkpoint import get_state_dict, load_state_dict
    model = build()
    state = get_state_dict(model)  # what mmengine's runner saves
    assert 'vision_model.blocks.0.ls1.gamma' in state and 'vision_model.encoder.layers.0.ls1' not in state
    release = build()
    with torch.no_grad():
        for p in release.parameters():
            p.zero_()
    load_state_dict(release, model.release_state_dict(), strict=True)  # mmengine's loader, the release layout
    for (name, a), b in zip(model.named_parameters(), release.parameters()):
        torch.testing.assert_close(a, b, msg=name)
    other = build()
    with torch.no_grad():
        for p in other.parameters():
            p.zero_()
    load_state_dict(other, state, strict=True)  # what mmengine's resume does
    for (name, a), b in zip(model.named_parameters(), other.parameters()):
        torch.testing.assert_close(a, b, msg=name)
    wrapped = torch.nn.ModuleDict(dict(module=model))  # DDP-style prefix
    assert 'module.vision_model.cls_token' in wrapped.state_dict()


def test_itm_learns_which_caption_belongs_to_which_image():
    """The ITM path carries the image-text interaction: on 4 classes (a colour per class, a 2-token caption per
    class) a tiny InternVL-G learns to tell its own caption from another class's, from chance (ln 2)."""
    torch.manual_seed(0)
    model = build(mode='InternVL-G', losses=('itm', )).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    colours = torch.tensor([[1., -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, -1]])
    losses = []
    for _ in range(60):
        labels = torch.arange(16) % 4
        images = colours[labels][:, :, None, None] + 0.3 * torch.randn(16, 3, 56, 56)
        batch = []
        for k in labels.tolist():
            s = DataSample()
            s.set_field(torch.tensor([1, 10 + k, 20 + k, 2]), 'itm_ids')
            s.set_field(torch.tensor([[1, 10 + k, 20 + k, 2]]), 'text_ids')
            batch.append(s)
        loss = model(images, batch, mode='loss')['loss_itm']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert abs(losses[0] - math.log(2)) < 0.1
    assert sum(losses[-10:]) / 10 < 0.3, losses[::5]

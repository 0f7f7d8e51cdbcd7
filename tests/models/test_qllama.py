"""QLLaMA: a LLaMA (checked against transformers' LlamaModel), the official layout, masks and query cross-attention."""
import pytest
import torch

from internvl_mm.models.language import QLLaMA, build_attention_mask, resolve_qllama_arch
from internvl_mm.weights import CheckpointError


def tiny(vision_width=None, **kwargs):
    model = QLLaMA('tiny', vision_width=vision_width, **kwargs)
    model.init_weights()
    with torch.no_grad():  # non-trivial norms, so that a wrong norm placement shows
        for name, p in model.named_parameters():
            if name.endswith(('layernorm.weight', 'norm.weight', 'norm1.weight', 'norm2.weight')):
                p.uniform_(0.5, 1.5)
    return model.eval()


def text_ids(batch=2, length=9, pad_from=None):
    ids = torch.randint(3, 256, (batch, length))
    mask = torch.ones(batch, length, dtype=torch.bool)
    if pad_from is not None:
        ids[-1, pad_from:] = 0
        mask[-1, pad_from:] = False
    return ids, mask


def test_decoder_is_transformers_llama():
    from transformers import LlamaConfig, LlamaForCausalLM
    model = tiny(with_lm_head=True)
    spec = model.arch
    config = LlamaConfig(hidden_size=spec['hidden_size'], num_hidden_layers=spec['num_layers'],
                         num_attention_heads=spec['num_heads'], num_key_value_heads=spec['num_heads'],
                         intermediate_size=spec['intermediate_size'], vocab_size=spec['vocab_size'],
                         rms_norm_eps=spec['rms_norm_eps'], rope_theta=spec['rope_theta'], tie_word_embeddings=False)
    reference = LlamaForCausalLM(config).eval()
    reference.load_state_dict(model.state_dict(), strict=True)  # the same key layout, no renaming
    ids, mask = text_ids(pad_from=6)
    with torch.no_grad():
        ours = model(ids, attention_mask=build_attention_mask('text', 0, mask))
        theirs = reference.model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        logits = reference(input_ids=ids, attention_mask=mask.long()).logits
    torch.testing.assert_close(ours[0], theirs[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours[1, :6], theirs[1, :6], atol=1e-5, rtol=1e-5)  # padded positions differ
    torch.testing.assert_close(model.lm_head(ours[0]), logits[0], atol=1e-5, rtol=1e-5)


def test_official_8b_layout_on_meta():
    with torch.device('meta'):
        model = QLLaMA('8b', vision_width=3200)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes['model.embed_tokens.weight'] == (49954, 4096)
    assert shapes['lm_head.weight'] == (49954, 4096)
    assert shapes['model.layers.31.mlp.gate_proj.weight'] == (11008, 4096)
    assert shapes['model.layers.0.cross_attn.k_proj.weight'] == (4096, 3200)
    assert shapes['model.layers.0.cross_attn.norm2.weight'] == (3200, )
    assert shapes['model.layers.30.cross_attn.o_proj.weight'] == (4096, 4096)
    with_cross = sorted({int(k.split('.')[2]) for k in shapes if '.cross_attn.' in k})
    assert with_cross == list(range(0, 32, 2))
    assert not any('rotary' in k or 'bias' in k for k in shapes)
    cross = sum(v.numel() for k, v in model.named_parameters() if '.cross_attn.' in k)
    assert 0.9e9 < cross < 1.0e9  # the paper's "1B new parameters" with the 96 queries
    assert [c.__name__ for c in QLLaMA.checkpointable_blocks] == ['QLLaMADecoderLayer']


@pytest.mark.parametrize('kind', ['itc', 'itm', 'itg'])
def test_masks(kind):
    Q, T = 3, 4
    text_mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    m = build_attention_mask(kind, Q, text_mask)[0, 0]
    assert m.shape == (Q + T, Q + T)
    assert not m[:, Q + 3].any()  # the padded key
    assert m[:Q, :Q].all()  # queries always see each other
    queries_see_text = m[:Q, Q:Q + 3].any().item()
    text_sees_queries = m[Q:, :Q].all().item()
    text_part = m[Q:Q + 3, Q:Q + 3]
    if kind == 'itm':
        assert queries_see_text and text_sees_queries and text_part.all()
    elif kind == 'itc':
        assert not queries_see_text and not m[Q:, :Q].any()
        assert torch.equal(text_part, torch.ones(3, 3, dtype=torch.bool).tril())
    else:
        assert not queries_see_text and text_sees_queries
        assert torch.equal(text_part, torch.ones(3, 3, dtype=torch.bool).tril())
    with pytest.raises(ValueError, match='unknown attention mask kind'):
        build_attention_mask('causal', Q, text_mask)


def test_text_is_causal_and_queries_bidirectional():
    model = tiny(vision_width=32)
    ids, mask = text_ids(batch=1)
    with torch.no_grad():
        base = model(ids, attention_mask=build_attention_mask('text', 0, mask))
        changed = ids.clone()
        changed[0, 5] = (changed[0, 5] + 1) % 250 + 3
        out = model(changed, attention_mask=build_attention_mask('text', 0, mask))
        torch.testing.assert_close(out[:, :5], base[:, :5])
        assert not torch.allclose(out[:, 5:], base[:, 5:])
        queries = torch.randn(1, 4, 64)
        vision = torch.randn(1, 5, 32)
        q1 = model(query_embeds=queries, vision_states=vision)
        queries2 = queries.clone()
        queries2[0, -1] += 1
        q2 = model(query_embeds=queries2, vision_states=vision)
        assert not torch.allclose(q1[:, 0], q2[:, 0])  # the first query sees the last one


def test_only_queries_read_the_vision():
    model = tiny(vision_width=32)
    ids, mask = text_ids(batch=1)
    queries = torch.randn(1, 4, 64)
    v1, v2 = torch.randn(1, 5, 32), torch.randn(1, 5, 32)
    with torch.no_grad():
        itc = build_attention_mask('itc', 4, mask)
        a = model(ids, query_embeds=queries, attention_mask=itc, vision_states=v1)
        b = model(ids, query_embeds=queries, attention_mask=itc, vision_states=v2)
        assert not torch.allclose(a[:, :4], b[:, :4])
        torch.testing.assert_close(a[:, 4:], b[:, 4:])  # ITC text is isolated from the queries and the vision
        # ... and equals the text encoded alone (rotary depends on relative offsets only)
        alone = model(ids, attention_mask=build_attention_mask('text', 0, mask))
        torch.testing.assert_close(a[:, 4:], alone, atol=1e-5, rtol=1e-4)
        itg = build_attention_mask('itg', 4, mask)
        c = model(ids, query_embeds=queries, attention_mask=itg, vision_states=v1)
        d = model(ids, query_embeds=queries, attention_mask=itg, vision_states=v2)
        assert not torch.allclose(c[:, 4:], d[:, 4:])  # ITG text reads the vision through the queries
        # without queries there is no cross-attention: the vision is ignored
        e = model(ids, attention_mask=build_attention_mask('text', 0, mask), vision_states=v1)
        torch.testing.assert_close(e, alone)


def test_vision_batch_reused_for_repeated_query_batches():
    model = tiny(vision_width=32)
    queries = torch.randn(2, 4, 64)
    vision = torch.randn(2, 5, 32)
    with torch.no_grad():
        once = model(query_embeds=queries, vision_states=vision)
        twice = model(query_embeds=torch.cat([queries, queries]), vision_states=vision)
    torch.testing.assert_close(twice, torch.cat([once, once]))
    with pytest.raises(ValueError, match='not a multiple'):
        model(query_embeds=torch.randn(3, 4, 64), vision_states=vision)


def test_grad_checkpointing_is_exact():
    model = tiny(vision_width=32, with_lm_head=False).train()
    ids, mask = text_ids(batch=2)
    queries = torch.randn(2, 4, 64, requires_grad=True)
    vision = torch.randn(2, 5, 32)
    grads = []
    for with_cp in (False, True):
        model.set_grad_checkpointing(with_cp)
        model.zero_grad()
        out = model(ids, query_embeds=queries, attention_mask=build_attention_mask('itg', 4, mask),
                    vision_states=vision)
        out.square().mean().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert model.with_cp == 2
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_clear_errors():
    with pytest.raises(ValueError, match='Unknown QLLaMA arch'):
        QLLaMA('13b')
    with pytest.raises(ValueError, match='missing keys'):
        resolve_qllama_arch(dict(hidden_size=64))
    with pytest.raises(ValueError, match='even size'):
        resolve_qllama_arch(dict(hidden_size=60, num_layers=1, num_heads=4, intermediate_size=8, vocab_size=9))
    model = tiny()
    with pytest.raises(ValueError, match='outside the QLLaMA vocabulary'):
        model(torch.tensor([[1, 300]]))
    with pytest.raises(ValueError, match='without cross-attention'):
        model(query_embeds=torch.randn(1, 2, 64), vision_states=torch.randn(1, 3, 8))


def test_loads_a_llama_release(tmp_path):
    from internvl_mm.weights import save_safetensors_shards
    source = tiny(with_lm_head=True)
    save_safetensors_shards(source.state_dict(), str(tmp_path / 'llama'), max_shard_bytes=200_000)
    target = QLLaMA('tiny', vision_width=32, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'llama')))
    target.init_weights()  # cross-attention keeps its random initialisation, the rest is the LLaMA
    for name, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[name], value)
    small = QLLaMA(dict(hidden_size=64, num_layers=2, num_heads=2, intermediate_size=172, vocab_size=128),
                   init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'llama')))
    with pytest.raises(CheckpointError, match='vocab_size'):
        small.init_weights()

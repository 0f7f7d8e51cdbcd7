"""The guards of the official stage-2 code, and the temperature: an empty caption drops its ITC target (the
``summarize:`` text) and its ITM label (the raw text); training clamps the temperature at 100, evaluation uses the
checkpoint's value as the official forward (``logit_scale.exp()``) does."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import internvl_mm.models.pretrainers.internvl as internvl_module
from internvl_mm.models.language import InternVLTokenizer
from internvl_mm.models.pretrainers import InternVL

TINY = dict(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), embed_dim=32, attn_pool_num_heads=4)
CAPTIONS = ['one shape: a large red circle', '', 'one shape: a small blue cross', 'two shapes: a green square']


def build(tokenizer=None, **kwargs):
    model = InternVL(**dict(TINY, tokenizer=tokenizer, **dict(dict(num_query_token=0), **kwargs)))
    model.init_weights()
    return model


def itc_samples(tokenizer, captions):
    ids, _ = InternVLTokenizer(tokenizer, 80).encode(captions, prefix='summarize:')
    out = []
    for row in ids:
        s = DataSample()
        s.set_field(row[None], 'text_ids')
        out.append(s)
    return out, ids


def expected_itc(model, images, ids, targets, scale):
    with torch.no_grad():
        image = model.encode_image(images, 'InternVL-C')
        text = model.encode_text(ids)
    logits = scale * image @ text.t()
    return (F.cross_entropy(logits, targets, ignore_index=-100)
            + F.cross_entropy(logits.t(), targets, ignore_index=-100)) / 2


def test_an_empty_caption_drops_its_itc_target_and_stays_a_negative(shapes_caption):
    tokenizer = f'{shapes_caption}/tokenizer'
    model = build(tokenizer).train()
    samples, ids = itc_samples(tokenizer, CAPTIONS)
    assert model.empty_texts(ids, 'itc').tolist() == [False, True, False, False]
    blank, _ = itc_samples(tokenizer, [' '])
    assert model.empty_texts(blank[0].text_ids, 'itc').tolist() == [True]  # one space is no caption either
    images = torch.randn(4, 3, 56, 56)
    with torch.no_grad():
        loss = model(images, samples, mode='loss')['loss_itc']
    scale = model.logit_scale.exp()
    guarded = expected_itc(model, images, ids, torch.tensor([0, -100, 2, 3]), scale)
    unguarded = expected_itc(model, images, ids, torch.arange(4), scale)
    torch.testing.assert_close(loss, guarded)
    assert abs(loss.item() - unguarded.item()) > 1e-3  # the guard changes the loss: the test can tell
    # the empty text is still a column: dropping it from the batch gives another loss
    keep = torch.tensor([0, 2, 3])
    without = expected_itc(model, images[keep], ids[keep], torch.arange(3), scale)
    assert abs(loss.item() - without.item()) > 1e-4


def test_a_batch_of_empty_captions_gives_a_zero_itc_loss_not_nan(shapes_caption):
    tokenizer = f'{shapes_caption}/tokenizer'
    model = build(tokenizer).train()
    samples, _ = itc_samples(tokenizer, ['', ' '])
    loss = model(torch.randn(2, 3, 56, 56), samples, mode='loss')['loss_itc']
    assert loss.item() == 0.0
    loss.backward()  # still a graph, so a step with such a batch runs (and changes nothing)


def test_an_empty_caption_drops_its_itm_label(shapes_caption, monkeypatch):
    tokenizer = f'{shapes_caption}/tokenizer'
    tok = InternVLTokenizer(tokenizer, 80)
    model = build(tokenizer, num_query_token=4, mode='InternVL-G', losses=('itm', )).train()
    captions = ['one shape: a large red circle', 'one shape: a small blue cross', 'two shapes: a green square', '',
                'one shape: a large yellow triangle', ' ']
    itm_ids, _ = tok.encode(captions)
    samples = []
    for row in itm_ids:
        s = DataSample()
        s.set_field(row[None], 'text_ids')
        s.set_field(row, 'itm_ids')
        samples.append(s)
    assert model.empty_texts(itm_ids, 'itm').tolist() == [False, False, False, True, False, True]
    seen = {}
    original_qllama, original_ce = model.qllama.forward, internvl_module.cross_entropy_or_zero

    def spy_qllama(input_ids=None, **kwargs):
        seen['ids'] = input_ids
        return original_qllama(input_ids, **kwargs)

    def spy_ce(logits, labels, *args):
        seen['labels'] = labels.clone()
        return original_ce(logits, labels, *args)

    monkeypatch.setattr(model.qllama, 'forward', spy_qllama)
    monkeypatch.setattr(internvl_module, 'cross_entropy_or_zero', spy_ce)
    for seed in range(4):  # the negatives are drawn: several draws, each checked
        torch.manual_seed(seed)
        loss = model(torch.randn(6, 3, 56, 56), samples, mode='loss')['loss_itm']
        assert torch.isfinite(loss)
        rows = seen['ids'][:6]
        own = itm_ids[:, :rows.shape[1]]
        empty = (rows != 0).sum(1) <= 2
        empty |= (rows == own[5]).all(1)  # the blank caption ' '
        expected = torch.where(empty, -100, (rows == own).all(1).long())
        assert seen['labels'].tolist() == expected.tolist()
        assert seen['labels'][3] == -100 and seen['labels'][5] == -100  # positives with an empty caption
    # without a tokenizer, the tokenizer-free rule (BOS and EOS only) still holds
    assert build(num_query_token=4).empty_texts(itm_ids, 'itm').tolist() == [False, False, False, True, False,
                                                                             False]


def test_training_clamps_the_temperature_and_evaluation_uses_the_checkpoint_value(shapes_caption):
    tokenizer = f'{shapes_caption}/tokenizer'
    model = build(tokenizer, zero_shot=dict(class_names=['red circle', 'blue cross', 'green square'],
                                            templates=['a {}', 'one shape: a large {}']))
    with torch.no_grad():
        model.logit_scale.fill_(math.log(500.0))
    samples, ids = itc_samples(tokenizer, [c for c in CAPTIONS if c])
    images = torch.randn(3, 3, 56, 56)
    with torch.no_grad():
        trained = model.train()(images, samples, mode='loss')
        evaluated = model.eval()(images, samples, mode='loss')
    assert trained['logit_scale'].item() == pytest.approx(100.0)
    assert evaluated['logit_scale'].item() == pytest.approx(500.0, rel=1e-5)
    torch.testing.assert_close(trained['loss_itc'], expected_itc(model, images, ids, torch.arange(3), 100.0))
    torch.testing.assert_close(evaluated['loss_itc'], expected_itc(model, images, ids, torch.arange(3), 500.0))
    # zero-shot scores: softmax(exp(logit_scale) * cosine) by default, as the official forward
    out = model.predict(images, [DataSample() for _ in range(3)])
    with torch.no_grad():
        cosine = model.encode_image(images) @ model.zero_shot_classifier().t()
    scores = torch.stack([s.pred_score for s in out])
    torch.testing.assert_close(scores, (500.0 * cosine).softmax(-1), atol=1e-5, rtol=1e-4)
    model.zero_shot_logit_scale = 100.0  # clip_benchmark's fixed factor, when a user asks for it
    scores100 = torch.stack([s.pred_score for s in model.predict(images, [DataSample() for _ in range(3)])])
    torch.testing.assert_close(scores100, (100.0 * cosine).softmax(-1), atol=1e-5, rtol=1e-4)
    assert (scores100.argmax(1) == scores.argmax(1)).all()  # rankings unaffected
    # a run without the clamp (the released stage-2 fine-tuning code has none)
    unclamped = build(tokenizer, max_logit_scale=None).train()
    with torch.no_grad():
        unclamped.logit_scale.fill_(math.log(500.0))
        assert unclamped(images, samples, mode='loss')['logit_scale'].item() == pytest.approx(500.0, rel=1e-5)
    with pytest.raises(ValueError, match='max_logit_scale'):
        build(max_logit_scale=0)

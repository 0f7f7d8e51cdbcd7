"""Non-Latin captions through the project's LLaMA tokenizer path (InternVLTokenizer / load_tokenizer, a
SentencePiece model with byte fallback in a release folder's layout, as Chinese-LLaMA's): every script round-trips,
no character becomes id 0 (the padding the text tower pools by), truncation keeps the EOS, and the text tower pools
each caption at its EOS."""
import pytest
import torch

from internvl_mm.models.language import InternVLTokenizer
from internvl_mm.models.language.tokenizer import PAD_ID
from internvl_mm.models.pretrainers import InternVL
from tests.evaluation.zero_shot_models import MULTILINGUAL_CAPTIONS, write_multilingual_tokenizer

UNSEEN = {'zh': '猫在沙发上睡觉', 'ja': '猫がソファで寝ている', 'ko': '고양이가 소파에서 잔다', 'ar': 'قطة نائمة على الأريكة',
          'ru': 'кошка спит на диване', 'th': 'แมวนอนบนโซฟา', 'hi': 'बिल्ली सो रही है', 'emoji': '🐱💤'}


@pytest.fixture(scope='module')
def tokenizer_dir(tmp_path_factory):
    return write_multilingual_tokenizer(str(tmp_path_factory.mktemp('multilingual_tokenizer')))


@pytest.mark.parametrize('language', sorted(UNSEEN))
def test_non_latin_captions_round_trip_without_padding_ids(tokenizer_dir, language):
    tok = InternVLTokenizer(tokenizer_dir, 80)
    for caption in [UNSEEN[language]] + MULTILINGUAL_CAPTIONS.get(language, []):
        ids = tok.ids('summarize:' + caption)
        assert ids[0] == tok.tokenizer.bos_token_id and ids[-1] == tok.tokenizer.eos_token_id
        assert PAD_ID not in ids  # an <unk> (id 0) would read as padding and move the pooled EOS
        assert tok.tokenizer.decode(ids, skip_special_tokens=True) == 'summarize:' + caption
        batch, mask = tok.encode([caption, 'a'], prefix='summarize:')
        assert batch[0, int(mask[0].sum()) - 1] == tok.tokenizer.eos_token_id


def test_long_chinese_caption_is_truncated_with_the_eos_kept(tokenizer_dir):
    tok = InternVLTokenizer(tokenizer_dir, 24)
    ids = tok.ids('summarize:' + UNSEEN['zh'] * 10)  # byte-fallback characters: many tokens each
    assert len(ids) == 24 and ids[-1] == tok.tokenizer.eos_token_id and PAD_ID not in ids


def test_text_tower_pools_each_script_at_its_eos(tokenizer_dir):
    tok = InternVLTokenizer(tokenizer_dir, 80)
    model = InternVL(backbone=dict(arch='tiny'), qllama=dict(arch=dict(hidden_size=64, num_layers=2, num_heads=2,
                                                                       intermediate_size=128, vocab_size=400)),
                     num_query_token=0, embed_dim=32, attn_pool_num_heads=4, tokenizer=tokenizer_dir)
    model.init_weights()  # QLLaMA allocates its projections uninitialised
    model.eval()
    captions = list(UNSEEN.values())
    ids, mask = tok.encode(captions, prefix='summarize:')
    with torch.no_grad():
        batch = model.encode_text(ids)
        alone = torch.cat([model.encode_text(ids[i:i + 1]) for i in range(len(captions))])
    torch.testing.assert_close(batch, alone, atol=1e-5, rtol=1e-4)  # padding changes nothing: pooled at the EOS
    assert not model.empty_texts(ids, 'itc').any()
    assert len({tuple(r.tolist()) for r in ids}) == len(captions)  # different scripts, different texts


def test_a_tokenizer_without_byte_fallback_reduces_chinese_to_an_empty_caption(shapes_caption):
    """The demo's English-only tokenizer drops characters it does not know: the caption tokenises to nothing, and
    the stage-2 guard (ITM label dropped) sees it as the empty caption it has become."""
    tokenizer = f'{shapes_caption}/tokenizer'
    tok = InternVLTokenizer(tokenizer, 48)
    model = InternVL(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), num_query_token=0, embed_dim=32,
                     attn_pool_num_heads=4, tokenizer=tokenizer)
    ids, _ = tok.encode([UNSEEN['zh'], 'one shape: a large red circle'])
    assert model.empty_texts(ids, 'itm').tolist() == [True, False]
    itc, _ = tok.encode([UNSEEN['zh'], 'one shape: a large red circle'], prefix='summarize:')
    assert model.empty_texts(itc, 'itc').tolist() == [True, False]

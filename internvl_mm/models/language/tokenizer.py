"""The InternVL text tokenizer: a LLaMA (SentencePiece) tokenizer read from a release folder, used as the release does.

InternVL-14B's text side expects ``<s> summarize:CAPTION </s>`` right-padded with id 0 to at most 80 tokens: the
text embedding is the hidden state of the last real token (the EOS), found as ``attention_mask.sum(1) - 1``, which
only works with right padding and pad id 0 (transformers 5 pads on the left by default, so it is set explicitly).
"""
import os.path as osp
from functools import lru_cache
from typing import List, Sequence, Tuple

import torch

from internvl_mm.errors import MissingFileError

TOKENIZER_FILES = ('tokenizer.model', 'tokenizer.json')
PAD_ID = 0
ITC_PREFIX = 'summarize:'
ITG_PREFIX = 'English caption:'


def check_tokenizer_dir(path: str) -> str:
    """Fail early, naming the fix, when ``path`` is not a folder with a LLaMA tokenizer."""
    if not path or not osp.isdir(path):
        raise MissingFileError(f'tokenizer folder {path!r} does not exist; point tokenizer= at the model release '
                                f'folder (it holds tokenizer.model), e.g. InternVL-14B-224px, or generate the '
                                f'shapes data (python tools/data/make_shapes.py) for the demo tokenizer')
    if not any(osp.isfile(osp.join(path, f)) for f in TOKENIZER_FILES):
        raise MissingFileError(f'{path} holds none of the tokenizer files {TOKENIZER_FILES}; copy them from the '
                                f'model release (tokenizer.model, tokenizer_config.json, special_tokens_map.json)')
    return path


@lru_cache(maxsize=8)
def load_tokenizer(path: str):
    """A transformers LLaMA tokenizer from ``path``: BOS and EOS added, pad id 0, right padding (cached)."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(check_tokenizer_dir(path), use_fast=False, add_eos_token=True)
    tokenizer.pad_token_id = PAD_ID
    tokenizer.padding_side = 'right'
    if tokenizer.eos_token_id is None or tokenizer.bos_token_id is None:
        raise ValueError(f'the tokenizer in {path} has no BOS/EOS token; InternVL pools the text at the EOS')
    return tokenizer


def pad_ids(sequences: Sequence[List[int]], length: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists with :data:`PAD_ID` to ``length``: (ids, attention mask), both (N, length) int64."""
    ids = torch.full((len(sequences), length), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for i, seq in enumerate(sequences):
        ids[i, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[i, :len(seq)] = 1
    return ids, mask


class InternVLTokenizer:
    """Encode texts the way InternVL's text tower and stage-2 losses read them.

    Args:
        path: folder with the tokenizer files (a model release folder).
        max_length: longest token sequence, BOS and EOS included (80 in the release).
    """

    def __init__(self, path: str, max_length: int = 80):
        self.path = path
        self.max_length = max_length
        self.tokenizer = load_tokenizer(path)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def ids(self, text: str) -> List[int]:
        """``<s> text </s>``, truncated to ``max_length`` with the EOS kept last."""
        ids = self.tokenizer(text, add_special_tokens=True)['input_ids']
        if len(ids) > self.max_length:
            ids = ids[:self.max_length - 1] + [self.tokenizer.eos_token_id]
        return ids

    def encode(self, texts: Sequence[str], prefix: str = '', length: int = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention mask) of ``prefix + text`` for each text, right-padded to ``length`` (default
        ``max_length``)."""
        return pad_ids([self.ids(prefix + t) for t in texts], length or self.max_length)

    def encode_for_generation(self, texts: Sequence[str], prefix: str = ITG_PREFIX, length: int = None
                              ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids, mask, labels) of ``<s> prefix text </s>`` for the next-token (ITG) loss: the prefix and the
        caption are tokenised separately and joined (as the release does); labels are -100 on the BOS, the prefix
        and the padding, so the loss covers the caption and its EOS."""
        prefix_ids = self.tokenizer(prefix, add_special_tokens=True)['input_ids'][:-1]  # <s> prefix, no </s>
        sequences, starts = [], []
        for text in texts:
            caption = self.tokenizer(text, add_special_tokens=True)['input_ids'][1:]  # no <s>, with </s>
            seq = prefix_ids + caption
            if len(seq) > self.max_length:
                seq = seq[:self.max_length - 1] + [self.tokenizer.eos_token_id]
            sequences.append(seq)
            starts.append(len(prefix_ids))
        ids, mask = pad_ids(sequences, length or self.max_length)
        labels = ids.masked_fill(mask == 0, -100)
        for i, start in enumerate(starts):
            labels[i, :start] = -100
        return ids, mask, labels

"""``get_tokenizer``: texts -> the token ids InternVL's ``encode_text`` reads, open_clip-style.

The contrastive text tower of InternVL-14B was trained on ``summarize:CAPTION``; the tokenizer returned here adds
that prefix (:data:`~internvl_mm.models.language.tokenizer.ITC_PREFIX`) itself, so ``model.encode_text(
tokenizer(texts))`` gives the release's text embeddings and the prefix can not be forgotten. A text that already
starts with the prefix is not prefixed twice.
"""
import os.path as osp
from typing import Sequence, Tuple, Union

import torch

from internvl_mm.errors import MissingFileError
from internvl_mm.models.language.tokenizer import ITC_PREFIX, InternVLTokenizer
from internvl_mm.zoo import ZOO

from .factory import INTERNVL_MODELS, _key, internvl_name

DEFAULT_MAX_LENGTH = 80  # the release's max_txt_len


class ITCTokenizer:
    """Callable tokenizer for InternVL's contrastive text tower: ``tokenizer(texts)`` -> (N, context_length) int64
    ids of ``<s> summarize:TEXT </s>``, right-padded with 0 (what ``InternVL.encode_text`` reads)."""

    def __init__(self, folder: str, context_length: int = DEFAULT_MAX_LENGTH, prefix: str = ITC_PREFIX):
        self.folder = folder
        self.context_length = context_length
        self.prefix = prefix
        self.tokenizer = InternVLTokenizer(folder, context_length)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def _prefixed(self, texts: Union[str, Sequence[str]]) -> list:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return [t if t.startswith(self.prefix) else self.prefix + t for t in texts]

    def encode(self, texts: Union[str, Sequence[str]], context_length: int = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(ids, attention mask) of the prefixed texts."""
        return self.tokenizer.encode(self._prefixed(texts), length=context_length or self.context_length)

    def __call__(self, texts: Union[str, Sequence[str]], context_length: int = None) -> torch.Tensor:
        return self.encode(texts, context_length)[0]

    def __repr__(self) -> str:
        return f'ITCTokenizer({self.folder!r}, context_length={self.context_length}, prefix={self.prefix!r})'


def get_tokenizer(name_or_folder: str, context_length: int = DEFAULT_MAX_LENGTH) -> ITCTokenizer:
    """The tokenizer of ``internvl-c-14b`` / ``internvl-g-14b`` / a zoo name (the release's, fetched like its
    weights), or of a folder holding ``tokenizer.model`` (a release folder, the shapes demo's tokenizer)."""
    if osp.isdir(name_or_folder):
        return ITCTokenizer(name_or_folder, context_length)
    key = internvl_name(name_or_folder)
    zoo_name = INTERNVL_MODELS[key]['zoo'] if key else _key(name_or_folder)
    with_text = list(INTERNVL_MODELS) + [m.name for m in ZOO.values() if m.contents == 'model']
    if zoo_name not in ZOO:
        raise MissingFileError(f'tokenizer {name_or_folder!r} is neither a folder nor a model name; give the folder '
                               f'with tokenizer.model or one of {", ".join(with_text)}')
    if ZOO[zoo_name].contents != 'model':
        raise MissingFileError(f'{name_or_folder!r} is a vision encoder release without a text tower or tokenizer; '
                               f'use one of {", ".join(with_text)} or a folder with tokenizer.model')
    from internvl_mm.zoo import resolve
    return ITCTokenizer(resolve(zoo_name), context_length)

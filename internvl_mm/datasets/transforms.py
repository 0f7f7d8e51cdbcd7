"""Pipeline steps: reading images within size bounds (files or tar shards) and tokenising captions."""
import random
from typing import Optional, Sequence

import mmcv
from mmcv.transforms import BaseTransform
from mmengine import fileio

from internvl_mm.errors import InputError

from internvl_mm.models.language.tokenizer import ITC_PREFIX, ITG_PREFIX, InternVLTokenizer
from internvl_mm.registry import TRANSFORMS


def check_image_size(results: dict, max_side: Optional[int], min_side: int) -> None:
    """Refuse, naming the file, a decoded image whose sides are outside ``[min_side, max_side]``: one huge image
    would make every batch it joins huge (the batch is padded to its largest image), and one smaller than a patch
    has no patch to embed. ``max_side=None`` / ``min_side=0`` turn a bound off."""
    h, w = results['img'].shape[:2]
    where = results.get('img_path') or results.get('tar_member') or 'an image'
    if max_side is not None and max(h, w) > max_side:
        raise InputError(f'{where} is {w}x{h} px, larger than max_side={max_side}; resize it, or raise the bound '
                         f'(max_side=... of CheckImageSize / the loading step) if the memory allows')
    if min(h, w) < min_side:
        raise InputError(f'{where} is {w}x{h} px, smaller than min_side={min_side} (one patch); drop it or upscale it')


MAX_SIDE, MIN_SIDE = 8192, 14


@TRANSFORMS.register_module()
class CheckImageSize(BaseTransform):
    """Right after the loading step: :func:`check_image_size` (a separate step, so that the toolboxes' inferencers,
    which look for ``LoadImageFromFile`` by name, keep working)."""

    def __init__(self, max_side: Optional[int] = MAX_SIDE, min_side: int = MIN_SIDE):
        self.max_side, self.min_side = max_side, min_side

    def transform(self, results: dict) -> dict:
        check_image_size(results, self.max_side, self.min_side)
        return results


@TRANSFORMS.register_module()
class LoadImageFromFileOrTar(BaseTransform):
    """Read ``img_path`` or, for WebDataset samples, ``tar_member = (shard, offset, size)``; decode like mmcv's
    ``LoadImageFromFile`` (BGR uint8), check the size (:func:`check_image_size`) and set ``img``, ``img_shape``,
    ``ori_shape``."""

    def __init__(self, backend_args: Optional[dict] = None, max_side: Optional[int] = MAX_SIDE,
                 min_side: int = MIN_SIDE):
        self.backend_args = backend_args
        self.max_side, self.min_side = max_side, min_side

    def transform(self, results: dict) -> dict:
        if 'tar_member' in results:
            shard, offset, size = results['tar_member']
            with open(shard, 'rb') as f:
                f.seek(offset)
                data = f.read(size)
        else:
            data = fileio.get(results['img_path'], backend_args=self.backend_args)
        img = mmcv.imfrombytes(data, flag='color')
        if img is None:
            raise InputError(f'{results.get("img_path")} is not a readable image')
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        check_image_size(results, self.max_side, self.min_side)
        return results


@TRANSFORMS.register_module()
class TokenizeCaption(BaseTransform):
    """Tokenise ``captions`` for InternVL's text tower and stage-2 losses.

    Args:
        tokenizer: the folder with the tokenizer files (the model release folder).
        max_length: longest sequence, BOS and EOS included (80 in the release).
        tasks: which encodings to make: 'itc' -> ``text_ids`` of ``summarize:CAPTION`` (the contrastive text),
            'itm' -> ``itm_ids`` of the raw caption, 'itg' -> ``itg_ids`` / ``itg_labels`` of
            ``English caption: CAPTION``.
        all_captions: keep every caption (``text_ids`` (num_captions, max_length), for retrieval evaluation)
            instead of drawing one at random (training).
    """
    TASKS = ('itc', 'itm', 'itg')

    def __init__(self, tokenizer: str, max_length: int = 80, tasks: Sequence[str] = ('itc', ),
                 all_captions: bool = False, itc_prefix: str = ITC_PREFIX, itg_prefix: str = ITG_PREFIX):
        unknown = sorted(set(tasks) - set(self.TASKS))
        if unknown:
            raise ValueError(f'TokenizeCaption tasks {unknown} unknown; choose from {self.TASKS}')
        self.tokenizer = InternVLTokenizer(tokenizer, max_length)  # fails here, early, if the files are missing
        self.tasks, self.all_captions = tuple(tasks), all_captions
        self.itc_prefix, self.itg_prefix = itc_prefix, itg_prefix

    def transform(self, results: dict) -> dict:
        captions = results['captions']
        if not captions:
            raise ValueError(f'sample {results.get("img_path")} has no caption')
        chosen = list(captions) if self.all_captions else [random.choice(captions)]
        if 'itc' in self.tasks:
            results['text_ids'] = self.tokenizer.encode(chosen, prefix=self.itc_prefix)[0]
        if 'itm' in self.tasks:
            results['itm_ids'] = self.tokenizer.encode(chosen[:1])[0][0]
        if 'itg' in self.tasks:
            ids, _, labels = self.tokenizer.encode_for_generation(chosen[:1], prefix=self.itg_prefix)
            results['itg_ids'], results['itg_labels'] = ids[0], labels[0]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tokenizer={self.tokenizer.path!r}, max_length='
                f'{self.tokenizer.max_length}, tasks={self.tasks}, all_captions={self.all_captions})')

"""Image-text pairs for InternVL pretraining and retrieval evaluation, from two kinds of source.

- An annotation file: JSON Lines (``.jsonl``), one ``{"image": PATH, "caption": TEXT or [TEXT, ...], "label": K}``
  a line, or a ``.json`` list of such records (the layout of the Karpathy-split Flickr30K / COCO test files used
  for retrieval, five captions per image). ``label`` (optional) is a class index for zero-shot classification.
- WebDataset tar shards (``ann_file='shards/{00000..00099}.tar'``, a glob, one ``.tar`` or a list): members are
  grouped by key (the path up to the first dot of the file name), ``KEY.{jpg,jpeg,png,webp}`` is the image,
  ``KEY.txt`` the caption (or ``KEY.json`` with a ``caption`` field) and ``KEY.cls`` an optional label. The shards
  are indexed once (member offsets), so the dataset is map-style and works with mmengine's ``DefaultSampler``;
  images are read by offset, without unpacking.

Each data info holds ``captions`` (a list), ``image_id`` (the image path, or ``shard#key``: retrieval groups
captions by it) and either ``img_path`` or ``tar_member = (shard, offset, size)``; ``LoadImageFromFileOrTar``
reads either.
"""
import glob
import json
import os.path as osp
import re
import tarfile
from typing import Dict, List, Sequence, Union

from mmengine.dataset import BaseDataset

from internvl_mm.errors import MissingFileError
from internvl_mm.registry import DATASETS

IMAGE_EXTENSIONS = ('jpg', 'jpeg', 'png', 'webp')


def expand_shards(spec: Union[str, Sequence[str]], root: str = '') -> List[str]:
    """Shard paths from a brace range ``a-{000..009}.tar``, a glob, a single path or a list of those."""
    if not isinstance(spec, str):
        return [p for s in spec for p in expand_shards(s, root)]
    path = osp.join(root, spec) if root and not osp.isabs(spec) else spec
    match = re.search(r'\{(\d+)\.\.(\d+)\}', path)
    if match:
        first, last = match.groups()
        width = len(first)
        return [p for i in range(int(first), int(last) + 1)
                for p in expand_shards(path[:match.start()] + str(i).zfill(width) + path[match.end():])]
    if any(ch in path for ch in '*?['):
        found = sorted(glob.glob(path))
        if not found:
            raise MissingFileError(f'no tar shard matches {path}')
        return found
    if not osp.isfile(path):
        raise MissingFileError(f'tar shard {path} does not exist')
    return [path]


def _member_key(name: str):
    folder, base = osp.split(name)
    if '.' not in base:
        return None, None
    stem, ext = base.split('.', 1)
    return osp.join(folder, stem), ext.lower()


def index_tar_shard(shard: str, caption_key: str = 'caption') -> List[dict]:
    """One data info per complete sample (an image and a caption) of a WebDataset shard, in member order."""
    samples: Dict[str, dict] = {}
    with tarfile.open(shard) as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, ext = _member_key(member.name)
            if key is None:
                continue
            sample = samples.setdefault(key, {})
            if ext in IMAGE_EXTENSIONS:
                sample['tar_member'] = (shard, member.offset_data, member.size)
            elif ext in ('txt', 'json', 'cls'):
                text = tar.extractfile(member).read().decode('utf-8').strip()
                if ext == 'txt':
                    sample['captions'] = [text]
                elif ext == 'cls':
                    sample['gt_label'] = int(text)
                else:
                    caption = json.loads(text).get(caption_key)
                    if caption is not None:
                        sample['captions'] = caption if isinstance(caption, list) else [caption]
    infos = []
    for key, sample in samples.items():
        if 'tar_member' in sample and sample.get('captions'):
            infos.append(dict(sample, image_id=f'{shard}#{key}', img_path=f'{shard}#{key}'))
    return infos


@DATASETS.register_module()
class ImageTextDataset(BaseDataset):
    """Image-caption pairs from a JSON Lines / JSON annotation file or WebDataset tar shards (see module doc).

    Args:
        ann_file: the annotation file, or the shards (a ``.tar`` path, brace range, glob or list).
        data_root: joined to relative ``ann_file`` / shard / image paths.
        data_prefix: ``dict(img_path=FOLDER)``, the folder the annotation's image paths are relative to.
        image_key / caption_key / label_key: the record fields (``caption_key`` also names the caption field of
            ``KEY.json`` shard members).
        metainfo: e.g. ``dict(classes=[...])`` for samples with labels (zero-shot classification).
    """

    def __init__(self, ann_file: Union[str, Sequence[str]], image_key: str = 'image', caption_key: str = 'caption',
                 label_key: str = 'label', data_prefix: dict = dict(img_path=''), **kwargs):
        self.image_key, self.caption_key, self.label_key = image_key, caption_key, label_key
        self._shards = None
        if not isinstance(ann_file, str) or ann_file.endswith('.tar') or '{' in ann_file:
            self._shards = ann_file
            ann_file = ''
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        if self._shards is not None:
            data_list = [info for shard in expand_shards(self._shards, self.data_root)
                         for info in index_tar_shard(shard, self.caption_key)]
            if not data_list:
                raise ValueError(f'the shards {self._shards} hold no image-caption pair (expected KEY.jpg/png + '
                                 f'KEY.txt or KEY.json members)')
            return data_list
        if not osp.isfile(self.ann_file):
            raise MissingFileError(f'annotation file {self.ann_file} does not exist')
        with open(self.ann_file) as f:
            if self.ann_file.endswith('.jsonl'):
                records = [json.loads(line) for line in f if line.strip()]
            elif self.ann_file.endswith('.json'):
                records = json.load(f)
            else:
                raise ValueError(f'{self.ann_file}: expected a .jsonl or .json annotation file or .tar shards')
        prefix = self.data_prefix.get('img_path', '')
        data_list = []
        for i, record in enumerate(records):
            if self.image_key not in record or self.caption_key not in record:
                raise ValueError(f'{self.ann_file} record {i} lacks "{self.image_key}" or "{self.caption_key}" '
                                 f'(has {sorted(record)}); set image_key / caption_key')
            captions = record[self.caption_key]
            captions = list(captions) if isinstance(captions, (list, tuple)) else [captions]
            path = osp.join(prefix, record[self.image_key])
            info = dict(img_path=path, image_id=record[self.image_key], captions=captions)
            if self.label_key in record:
                info['gt_label'] = int(record[self.label_key])
            data_list.append(info)
        return data_list

"""Retrieval test sets in the annotation files of the official (clip_benchmark) evaluation, read as they are.

- ``'flickr_csv'``: clip_benchmark's Flickr lists (``flickr30k_test_karpathy.txt``, ``flickr30k_cn_test.txt`` for
  Flickr30K-CN): a header line, then ``IMAGE.jpg,CAPTION`` a line, several lines per image (split at the first
  ``.jpg,``, as captions may hold commas).
- ``'coco'``: COCO captions JSON (``{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}``:
  ``coco_test_karpathy.json``, ``coco-cn_test.json`` for COCO-CN).
- ``'xtd'``: clip_benchmark's multilingual COCO (XTD10) file ``multilingual_mscoco_captions-LANG.json``
  (``{"image_paths": [...], "annotations": [...]}``, one caption per image).

Data infos are those of :class:`~internvl_mm.datasets.image_text.ImageTextDataset` (``img_path``, ``image_id``,
``captions``), so the same pipeline (``LoadImageFromFileOrTar``, ``TokenizeCaption(all_captions=True)``) and metric
(``ImageTextRetrieval``) apply; images keep the file's order.
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import List, Optional

from mmengine.dataset import BaseDataset

from internvl_mm.errors import MissingFileError
from internvl_mm.registry import DATASETS

FORMATS = ('flickr_csv', 'coco', 'xtd')


def read_flickr_csv(path: str) -> 'OrderedDict[str, List[str]]':
    groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    with open(path, encoding='utf-8') as f:
        f.readline()  # header
        for n, line in enumerate(f, 2):
            line = line.strip()
            if not line:
                continue
            if '.jpg,' not in line:
                raise ValueError(f'{path} line {n}: expected "IMAGE.jpg,CAPTION", got {line[:60]!r}')
            image, caption = line.split('.jpg,', 1)
            groups.setdefault(image + '.jpg', []).append(caption)
    return groups


def read_coco_json(path: str) -> 'OrderedDict[str, List[str]]':
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, dict) or 'images' not in data or 'annotations' not in data:
        raise ValueError(f'{path} is not a COCO captions file (needs "images" and "annotations")')
    names = OrderedDict((img['id'], img['file_name']) for img in data['images'])
    groups: 'OrderedDict[str, List[str]]' = OrderedDict((name, []) for name in names.values())
    for ann in data['annotations']:
        if ann['image_id'] not in names:
            raise ValueError(f'{path}: annotation of unknown image id {ann["image_id"]}')
        groups[names[ann['image_id']]].append(ann['caption'])
    return OrderedDict((k, v) for k, v in groups.items() if v)


def read_xtd_json(path: str) -> 'OrderedDict[str, List[str]]':
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, dict) or 'image_paths' not in data or 'annotations' not in data:
        raise ValueError(f'{path} is not a clip_benchmark multilingual COCO file (needs "image_paths" and '
                         f'"annotations")')
    if len(data['image_paths']) != len(data['annotations']):
        raise ValueError(f'{path}: {len(data["image_paths"])} images but {len(data["annotations"])} captions')
    groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    for image, caption in zip(data['image_paths'], data['annotations']):
        groups.setdefault(image, []).append(caption)
    return groups


READERS = dict(flickr_csv=read_flickr_csv, coco=read_coco_json, xtd=read_xtd_json)


@DATASETS.register_module()
class RetrievalCaptionFile(BaseDataset):
    """Image-caption retrieval pairs from an official annotation file (see the module doc).

    Args:
        ann_file: the annotation file.
        ann_format: one of ``'flickr_csv'``, ``'coco'``, ``'xtd'``; default: ``.txt`` / ``.csv`` -> flickr_csv, a
            JSON with ``image_paths`` -> xtd, another JSON -> coco.
        data_prefix: ``dict(img_path=FOLDER)``, the folder the image names are relative to.
    """

    def __init__(self, ann_file: str, ann_format: Optional[str] = None, data_prefix: dict = dict(img_path=''),
                 **kwargs):
        if ann_format is not None and ann_format not in FORMATS:
            raise ValueError(f'ann_format must be one of {FORMATS}, got {ann_format!r}')
        self.ann_format = ann_format
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _format(self) -> str:
        if self.ann_format:
            return self.ann_format
        if self.ann_file.endswith(('.txt', '.csv')):
            return 'flickr_csv'
        with open(self.ann_file, encoding='utf-8') as f:
            head = f.read(4096)
        return 'xtd' if '"image_paths"' in head else 'coco'

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise MissingFileError(f'retrieval annotation file {self.ann_file} does not exist')
        groups = READERS[self._format()](self.ann_file)
        if not groups:
            raise ValueError(f'{self.ann_file} lists no image with a caption')
        prefix = self.data_prefix.get('img_path', '')
        return [dict(img_path=osp.join(prefix, image), image_id=image, captions=captions)
                for image, captions in groups.items()]

"""The ImageNet robustness sets the InternVL paper reports, in their released folder layouts.

- ImageNet-A, -R, -Sketch: one folder per WordNet id (``n01440764/...``); A and R hold 200 of the 1000 classes.
- ImageNet-V2: one folder per class index (``0/`` ... ``999/``).
- ImageNet-ReaL: the ImageNet val images with the reassessed multi-label annotations (``real.json``).
Labels are always ImageNet-1K indices, so a 1000-way classifier is evaluated unchanged; the classes a set
contains go into ``dataset_meta['eval_class_indices']`` for :class:`~internvl_mm.evaluation.SubsetAccuracy`.
The WordNet id order and the ReaL labels are read from timm's packaged ImageNet info files.
"""
import json
import os
import os.path as osp
from functools import lru_cache
from typing import List, Optional

from mmpretrain.datasets import BaseDataset, ImageNet
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES

from internvl_mm.errors import MissingFileError
from internvl_mm.registry import DATASETS

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.JPEG')


def timm_info_file(name: str) -> str:
    import timm.data
    return osp.join(osp.dirname(timm.data.__file__), '_info', name)


@lru_cache()
def imagenet_synsets() -> List[str]:
    """The 1000 ImageNet-1K WordNet ids in class-index order."""
    with open(timm_info_file('imagenet_synsets.txt')) as f:
        return [line.strip() for line in f if line.strip()]


@DATASETS.register_module()
class ImageNetVariantFolder(BaseDataset):
    """Images in class folders named by WordNet id (``folder_labels='synset'``: -A, -R, -Sketch) or by class
    index (``'index'``: -V2), labelled with their ImageNet-1K index."""

    def __init__(self, data_root: str, folder_labels: str = 'synset', **kwargs):
        if folder_labels not in ('synset', 'index'):
            raise ValueError(f"folder_labels must be 'synset' or 'index', got {folder_labels!r}")
        self.folder_labels = folder_labels
        super().__init__(ann_file='', data_root=data_root, metainfo=dict(classes=IMAGENET_CATEGORIES), **kwargs)

    def _label_of(self, folder: str) -> Optional[int]:
        if self.folder_labels == 'index':
            return int(folder) if folder.isdigit() and int(folder) < 1000 else None
        index = {wnid: i for i, wnid in enumerate(imagenet_synsets())}
        return index.get(folder)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise MissingFileError(f'{type(self).__name__}: data_root {root} does not exist')
        data, present = [], set()
        for folder in sorted(os.listdir(root)):
            label = self._label_of(folder)
            if label is None or not osp.isdir(osp.join(root, folder)):
                continue
            for name in sorted(os.listdir(osp.join(root, folder))):
                if name.endswith(IMAGE_SUFFIXES):
                    data.append(dict(img_path=osp.join(root, folder, name), gt_label=label))
                    present.add(label)
        if not data:
            raise MissingFileError(f'{type(self).__name__}: no images in class folders under {root} '
                                    f'(folder_labels={self.folder_labels!r})')
        self._metainfo['eval_class_indices'] = sorted(present)
        return data


@DATASETS.register_module()
class ImageNetReaL(ImageNet):
    """ImageNet val with the ReaL labels: ``gt_label`` is the (possibly empty) list of correct classes.

    ``real_json`` defaults to the copy packaged with timm; its i-th entry belongs to ``ILSVRC2012_val_{i+1:08d}``.
    """

    def __init__(self, *args, real_json: Optional[str] = None, **kwargs):
        self.real_json = real_json or timm_info_file('imagenet_real_labels.json')
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        with open(self.real_json) as f:
            real = json.load(f)
        data = super().load_data_list()
        for info in data:
            stem = osp.splitext(osp.basename(info['img_path']))[0]
            index = int(stem.rsplit('_', 1)[-1]) - 1
            if not 0 <= index < len(real):
                raise ValueError(f'{info["img_path"]} is not an ImageNet val image ILSVRC2012_val_NNNNNNNN')
            info['gt_label'] = list(real[index])
        return data

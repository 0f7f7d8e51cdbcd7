"""ObjectNet for zero-shot classification, as clip_benchmark (and so InternVL's evaluation) reads it.

The release (``objectnet-1.0.zip``) holds ``objectnet-1.0/images/FOLDER/*.png`` and ``objectnet-1.0/mappings/``
with ``folder_to_objectnet_label.json`` ({folder: ObjectNet name}) and ``objectnet_to_imagenet_1k.json``
({ObjectNet name: 'imagenet name; ...'}). Only the 113 ObjectNet classes that overlap ImageNet-1K are evaluated;
their label is the index of the folder in sorted order, and the zero-shot class names are the ObjectNet names in
lower case (clip_benchmark's ``ObjectNetDataset``). The images are used as they are (with their 1-px border, as
clip_benchmark does). ``objectnet_classes(root)`` lists the names in label order, for ``model.zero_shot``.
"""
import json
import os
import os.path as osp
from typing import List, Tuple

from mmengine.dataset import BaseDataset

from internvl_mm.errors import MissingFileError
from internvl_mm.registry import DATASETS

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def _mapping_file(root: str, name: str) -> str:
    for folder in (root, osp.join(root, 'objectnet-1.0', 'mappings'), osp.join(root, 'mappings')):
        if osp.isfile(osp.join(folder, name)):
            return osp.join(folder, name)
    raise MissingFileError(f'ObjectNet mapping {name} is neither in {root} nor in {root}/objectnet-1.0/mappings; '
                           f'unpack the release (objectnet-1.0.zip) there')


def objectnet_folders(root: str) -> List[Tuple[str, str]]:
    """(folder, lower-case ObjectNet name) of the classes that overlap ImageNet-1K, in label order."""
    with open(_mapping_file(root, 'folder_to_objectnet_label.json')) as f:
        folder_to_name = json.load(f)
    with open(_mapping_file(root, 'objectnet_to_imagenet_1k.json')) as f:
        overlapping = set(json.load(f))
    return sorted((folder, name.lower()) for folder, name in folder_to_name.items() if name in overlapping)


def objectnet_classes(root: str) -> List[str]:
    """The zero-shot class names in label order."""
    return [name for _, name in objectnet_folders(root)]


@DATASETS.register_module()
class ObjectNetFolder(BaseDataset):
    """The ObjectNet images of the classes that overlap ImageNet-1K (see the module doc); ``data_root`` is the
    folder the release was unpacked into."""

    def __init__(self, data_root: str, **kwargs):
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        images = osp.join(root, 'objectnet-1.0', 'images')
        if not osp.isdir(images):
            raise MissingFileError(f'ObjectNet images {images} do not exist; unpack objectnet-1.0.zip into {root}')
        folders = objectnet_folders(root)
        data = []
        for label, (folder, _) in enumerate(folders):
            path = osp.join(images, folder)
            if osp.isdir(path):
                data += [dict(img_path=osp.join(path, n), gt_label=label) for n in sorted(os.listdir(path))
                         if n.lower().endswith(IMAGE_SUFFIXES)]
        if not data:
            raise MissingFileError(f'no ObjectNet image of the {len(folders)} ImageNet-overlapping classes under '
                                   f'{images}')
        self._metainfo['classes'] = tuple(name for _, name in folders)
        return data

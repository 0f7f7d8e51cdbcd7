"""Writers of the embedded shapes datasets in the real on-disk formats of each toolbox.

- ``cls``: ImageNet style: ``{train,val}/<class>/<id>.png`` plus ``meta/{train,val}.txt`` ("path label") and
  ``meta/classes.txt``, read by mmpretrain's ``CustomDataset``.
- ``seg``: ADE20K style: ``images/{training,validation}/<id>.jpg`` and single-channel
  ``annotations/{training,validation}/<id>.png`` where 0 is "unlabelled" (the clutter lines), 1 background and
  2.. the shapes, so that ``reduce_zero_label=True`` turns 0 into the ignore index 255 exactly as for ADE20K.
- ``det``: COCO style: ``{train,val}/<id>.png`` and ``annotations/instances_{train,val}.json`` with boxes,
  polygon masks of the visible part of every shape (overlaps occlude), areas and categories.
- ``caption``: ``images/<id>.png`` and ``{train,val}.jsonl`` lines ``{"image": ..., "caption": ...}``.

Each task folder gets a ``manifest.json`` of the generator version and parameters; :func:`ensure_shapes_dataset`
regenerates a folder only when that manifest differs, writing into a temporary folder renamed into place at the
end, so an interrupted generation never leaves a half-written dataset behind.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Tuple

import cv2
import numpy as np
from PIL import Image

from .scene import SHAPES, describe, render, sample_object, sample_scene, scene_rng

GENERATOR_VERSION = 2
CLS_COLOURS = ('red', 'blue')
CLS_POSITIONS = ('top', 'bottom')
CLS_CLASSES = tuple(f'{c}_{s}_{p}' for c in CLS_COLOURS for s in SHAPES for p in CLS_POSITIONS)
SEG_CLASSES = ('background', ) + SHAPES  # after reduce_zero_label
DET_CLASSES = SHAPES

DEFAULTS: Dict[str, dict] = {
    'cls': dict(size=64, num_train=8000, num_val=640),
    'seg': dict(size=96, num_train=1200, num_val=200),
    'det': dict(size=128, num_train=1200, num_val=200),
    'caption': dict(size=64, num_train=3000, num_val=500),
}
SPLITS = {'cls': ('train', 'val'), 'seg': ('training', 'validation'), 'det': ('train', 'val'),
          'caption': ('train', 'val')}


def classification_scene(seed: int, split: str, index: int, size: int):
    """A scene whose class (colour, shape, top/bottom half of the main shape) is ``index % len(CLS_CLASSES)``."""
    rng = scene_rng(seed, f'cls-{split}', index)
    label = index % len(CLS_CLASSES)
    colour, shape, position = CLS_CLASSES[label].split('_')
    # The centre stays clear of the middle line, so top/bottom is never ambiguous.
    region = (0, 0, size, 0.42 * size) if position == 'top' else (0, 0.58 * size, size, size)
    main = sample_object(rng, size, (0.16, 0.24), shape, colour, region)
    return sample_scene(rng, size, (0, 0), num_distractors=(1, 3), fixed=[main]), label


def detection_scene(seed: int, split: str, index: int, size: int, prefix: str):
    rng = scene_rng(seed, f'{prefix}-{split}', index)
    return sample_scene(rng, size, (2, 4), radius_range=(0.08, 0.2), max_overlap=0.35)


def _save(path: str, pixels: np.ndarray):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95) if path.endswith('.jpg') else Image.fromarray(pixels).save(path)


def write_cls(root: str, seed: int, size: int, num_train: int, num_val: int):
    os.makedirs(osp.join(root, 'meta'))
    with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
        f.write('\n'.join(CLS_CLASSES) + '\n')
    for split, count in (('train', num_train), ('val', num_val)):
        lines = []
        for i in range(count):
            scene, label = classification_scene(seed, split, i, size)
            rel = f'{CLS_CLASSES[label]}/{split}_{i:06d}.png'
            _save(osp.join(root, split, rel), render(scene)[0])
            lines.append(f'{rel} {label}')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')


def seg_label_map(scene, instance: np.ndarray, clutter: np.ndarray) -> np.ndarray:
    """ADE20K-style labels: 0 unlabelled (clutter), 1 background, 2 + shape index for each shape's pixels."""
    labels = np.ones(instance.shape, dtype=np.uint8)
    for k, obj in enumerate(scene.objects, start=1):
        labels[instance == k] = 2 + SHAPES.index(obj.shape)
    labels[clutter] = 0
    return labels


def write_seg(root: str, seed: int, size: int, num_train: int, num_val: int):
    for split, count in (('training', num_train), ('validation', num_val)):
        for i in range(count):
            scene = detection_scene(seed, split, i, size, 'seg')
            pixels, instance, clutter = render(scene)
            _save(osp.join(root, 'images', split, f'{i:06d}.jpg'), pixels)
            _save(osp.join(root, 'annotations', split, f'{i:06d}.png'), seg_label_map(scene, instance, clutter))


def visible_polygons(mask: np.ndarray) -> List[List[float]]:
    """COCO polygons (flat x, y lists) of a binary mask's outer contours with at least three points."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def coco_annotations(scene, instance: np.ndarray, image_id: int, first_id: int, min_area: int = 12
                     ) -> List[dict]:
    """One COCO annotation per shape that stays visible (``min_area`` pixels) after occlusion."""
    annotations = []
    for k, obj in enumerate(scene.objects, start=1):
        mask = instance == k
        area = int(mask.sum())
        polygons = visible_polygons(mask) if area >= min_area else []
        if not polygons:
            continue
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        annotations.append(dict(id=first_id + len(annotations), image_id=image_id,
                                category_id=SHAPES.index(obj.shape) + 1, bbox=[float(x0), float(y0),
                                                                              float(x1 - x0), float(y1 - y0)],
                                area=float(area), segmentation=polygons, iscrowd=0))
    return annotations


def write_det(root: str, seed: int, size: int, num_train: int, num_val: int):
    categories = [dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(DET_CLASSES)]
    os.makedirs(osp.join(root, 'annotations'))
    for split, count in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for i in range(count):
            scene = detection_scene(seed, split, i, size, 'det')
            pixels, instance, _ = render(scene)
            name = f'{i:06d}.png'
            _save(osp.join(root, split, name), pixels)
            images.append(dict(id=i + 1, file_name=name, width=size, height=size))
            annotations += coco_annotations(scene, instance, i + 1, len(annotations) + 1)
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)


def write_caption(root: str, seed: int, size: int, num_train: int, num_val: int):
    for split, count in (('train', num_train), ('val', num_val)):
        records = []
        for i in range(count):
            rng = scene_rng(seed, f'caption-{split}', i)
            scene = sample_scene(rng, size, (1, 2), radius_range=(0.12, 0.24), max_overlap=0.1)
            rel = f'images/{split}_{i:06d}.png'
            _save(osp.join(root, rel), render(scene)[0])
            records.append(dict(image=rel, caption=describe(scene)))
        with open(osp.join(root, f'{split}.jsonl'), 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records)


WRITERS = {'cls': write_cls, 'seg': write_seg, 'det': write_det, 'caption': write_caption}


def ensure_shapes_dataset(root: str, task: str, seed: int = 0, **params) -> Tuple[str, bool]:
    """Generate ``root/task`` unless an identical one (same generator version and parameters) is there.

    Returns the task folder and whether it was (re)generated.
    """
    if task not in WRITERS:
        raise ValueError(f'unknown shapes task {task!r}; choose from {sorted(WRITERS)}')
    unknown = set(params) - set(DEFAULTS[task])
    if unknown:
        raise ValueError(f'unknown parameters {sorted(unknown)} for the {task} dataset; known: {DEFAULTS[task]}')
    manifest = dict(generator_version=GENERATOR_VERSION, task=task, seed=seed, **dict(DEFAULTS[task], **params))
    folder = osp.join(root, task)
    try:
        with open(osp.join(folder, 'manifest.json')) as f:
            if json.load(f) == manifest:
                return folder, False
    except (OSError, ValueError):
        pass
    staging = f'{folder}.partial-{os.getpid()}'
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    WRITERS[task](staging, seed, *(manifest[k] for k in ('size', 'num_train', 'num_val')))
    with open(osp.join(staging, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return folder, True

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

from .scene import COLOURS, SHAPES, describe, position_name, render, sample_object, sample_scene, scene_rng

GENERATOR_VERSION = 3
CLS_COLOURS = ('red', 'blue')
CLS_POSITIONS = ('top', 'bottom')
CLS_CLASSES = tuple(f'{c}_{s}_{p}' for c in CLS_COLOURS for s in SHAPES for p in CLS_POSITIONS)
SEG_CLASSES = ('background', ) + SHAPES  # after reduce_zero_label
DET_CLASSES = SHAPES
# The visualisers' class colours: background, then one per shape.
PALETTE = [(60, 60, 60), (220, 60, 60), (60, 180, 80), (60, 90, 220), (230, 200, 40)]

DEFAULTS: Dict[str, dict] = {
    'cls': dict(size=64, num_train=8000, num_val=640),
    'seg': dict(size=64, num_train=2000, num_val=200),
    'det': dict(size=128, num_train=1200, num_val=200),
    # caption_format: bump when write_caption changes, so that older caption folders are regenerated.
    'caption': dict(size=48, num_train=20000, num_val=500, caption_format=2),
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


def segmentation_scene(seed: int, split: str, index: int, size: int):
    """Two or three large shapes, slightly overlapping, over clutter lines (label 0)."""
    return sample_scene(scene_rng(seed, f'seg-{split}', index), size, (2, 3), radius_range=(0.12, 0.22),
                        max_overlap=0.3)


def detection_scene(seed: int, split: str, index: int, size: int):
    """Two to four shapes of varied size, some overlapping (visible parts become the instance masks)."""
    return sample_scene(scene_rng(seed, f'det-{split}', index), size, (2, 4), radius_range=(0.08, 0.2),
                        max_overlap=0.35)


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
            scene = segmentation_scene(seed, split, i, size)
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
            scene = detection_scene(seed, split, i, size)
            pixels, instance, _ = render(scene)
            name = f'{i:06d}.png'
            _save(osp.join(root, split, name), pixels)
            images.append(dict(id=i + 1, file_name=name, width=size, height=size))
            annotations += coco_annotations(scene, instance, i + 1, len(annotations) + 1)
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)


# -- captions ------------------------------------------------------------------------------------------------------
# Zero-shot classes of a caption scene: the colour and kind of its one large shape ("red circle").
CAPTION_CLASSES = tuple(f'{c} {s}' for c in COLOURS for s in SHAPES)
GRID_POSITIONS = tuple(position_name(((c + 0.5) / 3, (r + 0.5) / 3), 1) for r in range(3) for c in range(3))
# Prompt ensembling for zero-shot classification: the class as the large shape of a one-shape caption, at each
# grid position (averaged, as CLIP averages its 80 ImageNet templates).
CAPTION_TEMPLATES = tuple(f'one shape: a large {{}} at the {p}' for p in GRID_POSITIONS)
CAPTION_PREFIXES = ('summarize:', 'English caption:')  # what InternVL puts before a caption (ITC, ITG)


def caption_scene(rng: np.random.Generator, size: int):
    """1-3 shapes in distinct cells of a 3x3 grid, centres clear of the cell borders (positions are never
    ambiguous): one large shape, the class of the scene, and 0-2 small ones; clutter lines over the background."""
    count = int(rng.integers(1, 4))
    cells = rng.permutation(9)[:count]
    objects = []
    for k, cell in enumerate(cells):
        row, col = divmod(int(cell), 3)
        margin = (0.2 if k == 0 else 0.25) * size / 3
        region = (col * size / 3 + margin, row * size / 3 + margin, (col + 1) * size / 3 - margin,
                  (row + 1) * size / 3 - margin)
        objects.append(sample_object(rng, size, (0.165, 0.2) if k == 0 else (0.11, 0.14), region=region))
    label = CAPTION_CLASSES.index(f'{objects[0].colour} {objects[0].shape}')
    return sample_scene(rng, size, (0, 0), fixed=objects), label


def write_caption_tokenizer(folder: str, captions: List[str], vocab_size: int = 128):
    """A LLaMA-style SentencePiece tokenizer trained on the captions (and the InternVL prefixes and templates),
    written in the file layout of a model release folder (see :func:`write_sentencepiece_tokenizer`)."""
    texts = list(captions) + list(CAPTION_PREFIXES) + [t.format(c) for t in CAPTION_TEMPLATES for c in CAPTION_CLASSES]
    write_sentencepiece_tokenizer(folder, texts, vocab_size)


def write_sentencepiece_tokenizer(folder: str, texts: List[str], vocab_size: int, **options):
    """A SentencePiece BPE tokenizer trained on ``texts`` (extra trainer ``options``, e.g. ``byte_fallback=True``),
    written as a release folder's tokenizer.model, tokenizer_config.json and special_tokens_map.json, so that it
    loads through the same code path as InternVL-14B's. Ids: 0 <unk> (also the padding), 1 <s>, 2 </s>.
    Deterministic: one thread, fixed input order."""
    import io

    import sentencepiece as spm
    model = io.BytesIO()
    trainer = dict(model_type='bpe', unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, hard_vocab_limit=False,
                   character_coverage=1.0, minloglevel=2)
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size,
                                   **dict(trainer, **options))
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'tokenizer.model'), 'wb') as f:
        f.write(model.getvalue())
    specials = dict(bos_token='<s>', eos_token='</s>', unk_token='<unk>')
    with open(osp.join(folder, 'tokenizer_config.json'), 'w') as f:
        json.dump(dict(specials, tokenizer_class='LlamaTokenizer', add_bos_token=True, add_eos_token=False,
                       pad_token=None, model_max_length=2048, legacy=False, clean_up_tokenization_spaces=False),
                  f, indent=2)
    with open(osp.join(folder, 'special_tokens_map.json'), 'w') as f:
        json.dump(specials, f, indent=2)


def _render_to(job):
    path, scene = job
    _save(path, render(scene)[0])


def write_caption(root: str, seed: int, size: int, num_train: int, num_val: int):
    """``{train,val}.jsonl`` of {"image", "caption", "label"}, ``images/``, ``classnames.txt`` and
    ``tokenizer/``. Validation captions are unique (a repeated one is skipped), so retrieval has one answer.
    Scenes are drawn in order; the images are rendered by one process per core."""
    from concurrent.futures import ProcessPoolExecutor
    captions, jobs = {}, []
    for split, count in (('train', num_train), ('val', num_val)):
        records, seen, index = [], set(), 0
        while len(records) < count:
            scene, label = caption_scene(scene_rng(seed, f'caption-{split}', index), size)
            index += 1
            caption = describe(scene)
            if split == 'val':
                if caption in seen:
                    continue
                seen.add(caption)
            rel = f'images/{split}_{len(records):06d}.png'
            jobs.append((osp.join(root, rel), scene))
            records.append(dict(image=rel, caption=caption, label=label))
        with open(osp.join(root, f'{split}.jsonl'), 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records)
        captions[split] = [r['caption'] for r in records]
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    with ProcessPoolExecutor(max_workers=max(1, min(len(os.sched_getaffinity(0)), 8))) as pool:
        list(pool.map(_render_to, jobs, chunksize=256))
    with open(osp.join(root, 'classnames.txt'), 'w') as f:
        f.write('\n'.join(CAPTION_CLASSES) + '\n')
    write_caption_tokenizer(osp.join(root, 'tokenizer'), captions['train'])


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

"""Image features of a folder (or list) of images, written as resumable shards.

The output folder holds ``index.json`` (the model, the image names in order, the shard size and the shards done)
and ``features-NNNNN.safetensors`` shards, each the ``features`` tensor of ``shard_size`` consecutive images (the
last one fewer). Every file is written atomically (:func:`internvl_mm.files.atomic_write`), so a shard that exists
is complete: an interrupted run, run again with the same arguments, skips the shards already there and writes the
rest. :func:`load_features` reads a finished folder back.
"""
import json
import os
import os.path as osp
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn

from internvl_mm.errors import InputError, MissingFileError, UserError
from internvl_mm.files import atomic_write

INDEX_FILE = 'index.json'
SHARD_PATTERN = 'features-{:05d}.safetensors'
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.gif')
FORMAT_VERSION = 1


class FeatureOutputError(UserError):
    """An output folder that holds another run's features, or an unfinished one read as finished."""


class ImageReadError(InputError):
    """An image file that can not be read."""


def list_images(source: str) -> Tuple[str, List[str]]:
    """(root, names): every image under a folder (recursively, sorted), or the lines of a list file (paths relative
    to the list file's folder unless absolute; blank lines and ``#`` comments skipped)."""
    if osp.isdir(source):
        names = sorted(osp.relpath(osp.join(folder, f), source) for folder, _, files in os.walk(source)
                       for f in files if f.lower().endswith(IMAGE_EXTENSIONS))
        root = source
    elif osp.isfile(source):
        with open(source) as f:
            names = [line.strip() for line in f if line.strip() and not line.lstrip().startswith('#')]
        root = osp.dirname(osp.abspath(source))
    else:
        raise MissingFileError(f'images {source!r}: no such folder or list file')
    if not names:
        raise MissingFileError(f'images {source!r} holds no image files ({", ".join(IMAGE_EXTENSIONS)})')
    return root, names


def load_image(path: str):
    from PIL import Image
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, ValueError) as e:
        raise ImageReadError(f'image {path} can not be read: {e}') from e


class _Images(torch.utils.data.Dataset):
    """Preprocessed images by index; a read error travels back as its message (a worker's exception would reach
    the main process wrapped in a traceback, and the tools print one line)."""

    def __init__(self, root: str, names: List[str], preprocess: Callable):
        self.root, self.names, self.preprocess = root, names, preprocess

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int):
        try:
            return self.preprocess(load_image(osp.join(self.root, self.names[i]))), None
        except ImageReadError as e:
            return None, str(e)


def _collate(items):
    for _, error in items:
        if error is not None:
            raise ImageReadError(error)
    return torch.stack([pixels for pixels, _ in items])


def _as_list(items):
    return items


def _batches(root: str, names: List[str], preprocess: Callable, batch_size: int, workers: int):
    """(B, 3, H, W) batches of ``names`` in order, decoded in ``workers`` processes (0: in this one)."""
    if not workers:
        for i in range(0, len(names), batch_size):
            data = _Images(root, names[i:i + batch_size], preprocess)
            yield _collate([data[j] for j in range(len(data))])
        return
    loader = torch.utils.data.DataLoader(_Images(root, names, preprocess), batch_size=batch_size, shuffle=False,
                                         num_workers=workers, collate_fn=_as_list)
    for items in loader:
        yield _collate(items)


@torch.no_grad()
def image_features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """InternVL's ``encode_image``, or the model's forward (create_model's pooled features)."""
    if hasattr(model, 'encode_image'):
        return model.encode_image(images)
    return model(images)


def _read_index(folder: str) -> Optional[dict]:
    path = osp.join(folder, INDEX_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_index(folder: str, index: dict):
    with atomic_write(osp.join(folder, INDEX_FILE), 'w') as f:
        json.dump(index, f, indent=1)


def save_shard(path: str, features: torch.Tensor):
    from safetensors.torch import save
    data = save({'features': features.contiguous().cpu()})
    with atomic_write(path) as f:
        f.write(data)


def _shard_rows(path: str) -> Optional[int]:
    """Rows of a shard file, or None if it is missing or unreadable."""
    from safetensors import safe_open
    try:
        with safe_open(path, 'pt') as f:
            return f.get_slice('features').get_shape()[0]
    except Exception:  # noqa: BLE001  (anything unreadable is redone)
        return None


def extract_features(model: nn.Module, preprocess: Callable, images: str, out: str, *, model_id: str,
                     batch_size: int = 32, shard_size: int = 1024, device: str = 'cpu', workers: int = 0,
                     progress: bool = True) -> dict:
    """Write the features of every image of ``images`` (folder or list file) into ``out``; returns the index.

    A rerun with the same images, model id and shard size finishes an interrupted run; an ``out`` holding another
    run's index raises :class:`FeatureOutputError`. ``workers`` processes decode the images (0: this one).
    """
    if batch_size < 1 or shard_size < 1:
        raise UserError(f'batch size and shard size must be positive (got {batch_size}, {shard_size})')
    root, names = list_images(images)
    num_shards = (len(names) + shard_size - 1) // shard_size
    index = dict(version=FORMAT_VERSION, model=model_id, shard_size=shard_size, num_images=len(names),
                 images=names, shards=[dict(file=SHARD_PATTERN.format(k), start=k * shard_size,
                                            count=min(shard_size, len(names) - k * shard_size))
                                       for k in range(num_shards)], done=[], complete=False)
    previous = _read_index(out)
    if previous is not None:
        same = all(previous.get(k) == index[k] for k in ('version', 'model', 'shard_size', 'images'))
        if not same:
            raise FeatureOutputError(f'{out} holds features of another run (model, images or shard size differ: '
                                     f'{previous.get("model")!r}, {previous.get("num_images")} images, shard size '
                                     f'{previous.get("shard_size")}); use another --out or delete it')
    os.makedirs(out, exist_ok=True)
    todo = []
    for shard in index['shards']:
        if _shard_rows(osp.join(out, shard['file'])) == shard['count']:
            index['done'].append(shard['file'])
        else:
            todo.append(shard)
    _write_index(out, index)

    from tqdm import tqdm
    model.eval().to(device)
    bar = tqdm(total=len(names), initial=len(names) - sum(s['count'] for s in todo), unit='img',
               desc='features', disable=not progress, dynamic_ncols=True)
    try:
        for shard in todo:
            chunk = names[shard['start']:shard['start'] + shard['count']]
            parts = []
            for batch in _batches(root, chunk, preprocess, batch_size, workers):
                parts.append(image_features(model, batch.to(device)).float().cpu())
                bar.update(len(batch))
            save_shard(osp.join(out, shard['file']), torch.cat(parts))
            index['done'].append(shard['file'])
            _write_index(out, index)
    finally:
        bar.close()
    index['complete'] = True
    _write_index(out, index)
    return index


def load_features(folder: str) -> Tuple[List[str], torch.Tensor]:
    """(image names, features (N, ...)) of a finished :func:`extract_features` folder."""
    from safetensors.torch import load_file
    index = _read_index(folder)
    if index is None:
        raise MissingFileError(f'{folder} holds no {INDEX_FILE}; run tools/extract_features.py first')
    if not index.get('complete'):
        raise FeatureOutputError(f'{folder} is unfinished ({len(index["done"])} of {len(index["shards"])} shards); '
                                 f'run tools/extract_features.py again with the same arguments to finish it')
    parts = [load_file(osp.join(folder, s['file']))['features'] for s in index['shards']]
    return index['images'], torch.cat(parts)

"""Safe, lazy reading of checkpoints in every layout the InternVL releases use.

One entry point, :func:`open_state_dict`, turns a path into a read-only mapping ``key -> tensor``:

- a Hugging Face release directory (``model.safetensors``, ``model.safetensors.index.json`` with shards, or the
  ``pytorch_model.bin`` equivalents), a single ``.safetensors`` file, or a ``.pth`` / ``.pt`` / ``.bin`` file;
- ``zoo://NAME`` for a model-zoo entry (resolved and downloaded through :mod:`internvl_mm.zoo`).

Safetensors are read lazily, one tensor at a time, so a 6B checkpoint never sits in memory twice. Pickled files
are read with ``torch.load(weights_only=True, mmap=True)``: an untrusted file can not run code, and a file that needs
arbitrary globals is refused with an error that says so. Nesting under ``state_dict`` / ``module`` / ``model`` is
unwrapped.
"""
import json
import os
import os.path as osp
from collections.abc import Mapping
from typing import Dict, Iterator, List

import torch

SAFETENSORS_INDEX = 'model.safetensors.index.json'
PICKLE_INDEX = 'pytorch_model.bin.index.json'
SINGLE_FILES = ('model.safetensors', 'pytorch_model.bin', 'model.pth')
PICKLE_SUFFIXES = ('.pth', '.pt', '.bin', '.ckpt')
NESTING_KEYS = ('state_dict', 'module', 'model')
ZOO_SCHEME = 'zoo://'


class CheckpointError(RuntimeError):
    """A checkpoint that can not be read or does not fit the model; the message says why and what to do."""


class LazyStateDict(Mapping):
    """A read-only ``key -> tensor`` mapping over one or more checkpoint files; tensors load on access."""

    def __init__(self, source: str):
        self.source = source
        self._key_to_reader: Dict[str, '_FileReader'] = {}

    def _add_file(self, path: str, keys=None):
        reader = _open_file(path)
        for key in (keys if keys is not None else reader.keys()):
            self._key_to_reader[key] = reader

    def __getitem__(self, key: str) -> torch.Tensor:
        return self._key_to_reader[key].get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._key_to_reader)

    def __len__(self) -> int:
        return len(self._key_to_reader)

    def __repr__(self):
        return f'LazyStateDict({self.source!r}, {len(self)} tensors)'


class _SafetensorsReader:

    def __init__(self, path):
        from safetensors import safe_open
        try:
            self._file = safe_open(path, framework='pt', device='cpu')
        except Exception as e:  # safetensors raises its own error types for bad headers
            raise CheckpointError(f'{path} is not a readable safetensors file ({e}); it may be truncated: '
                                  f'download it again (tools/download.py verify NAME).') from e
        self.path = path

    def keys(self) -> List[str]:
        return list(self._file.keys())

    def get(self, key) -> torch.Tensor:
        return self._file.get_tensor(key)


class _PickleReader:

    def __init__(self, path):
        try:
            obj = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        except RuntimeError as e:
            if 'mmap' in str(e):  # files written with the legacy (non-zip) format can not be memory-mapped
                obj = _weights_only_load(path)
            else:
                raise _unpickle_error(path, e) from e
        except Exception as e:
            raise _unpickle_error(path, e) from e
        self.path = path
        self._dict = unwrap_state_dict(obj, path)

    def keys(self) -> List[str]:
        return list(self._dict.keys())

    def get(self, key) -> torch.Tensor:
        return self._dict[key]


_FileReader = (_SafetensorsReader, _PickleReader)


def _weights_only_load(path):
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise _unpickle_error(path, e) from e


def _unpickle_error(path, e):
    if isinstance(e, EOFError) or 'failed finding central directory' in str(e) or 'truncated' in str(e):
        return CheckpointError(f'{path} is truncated or corrupt ({type(e).__name__}: {e}); download it again.')
    return CheckpointError(
        f'{path} can not be loaded safely: torch.load(weights_only=True) refused it ({type(e).__name__}: '
        f'{str(e).splitlines()[0]}). internvl_mm never unpickles arbitrary objects; convert the file to '
        f'safetensors, or to a plain dict of tensors, with a Python you trust.')


def unwrap_state_dict(obj, path: str = '<object>') -> Dict[str, torch.Tensor]:
    """Return the tensor dict inside a loaded checkpoint, unwrapping ``state_dict``/``module``/``model`` nesting."""
    while isinstance(obj, Mapping) and not _is_tensor_dict(obj):
        for key in NESTING_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
        else:
            raise CheckpointError(f'{path} holds no tensor dict: top-level keys {sorted(obj)[:8]}; expected '
                                  f'tensors, or a dict nesting them under one of {NESTING_KEYS}.')
    if not isinstance(obj, Mapping):
        raise CheckpointError(f'{path} holds a {type(obj).__name__}, not a state dict.')
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _is_tensor_dict(obj: Mapping) -> bool:
    return len(obj) > 0 and any(isinstance(v, torch.Tensor) for v in obj.values())


def _open_file(path: str):
    if path.endswith('.safetensors'):
        return _SafetensorsReader(path)
    if path.endswith(PICKLE_SUFFIXES):
        return _PickleReader(path)
    raise CheckpointError(f'{path}: unknown checkpoint file type; expected .safetensors or one of '
                          f'{PICKLE_SUFFIXES}, or a Hugging Face release directory.')


def resolve_checkpoint_path(path: str) -> str:
    """Map ``zoo://NAME`` to a local file or directory (downloading it if needed); other paths pass through."""
    if path.startswith(ZOO_SCHEME):
        from internvl_mm.zoo import resolve_zoo_uri
        return resolve_zoo_uri(path)
    return osp.expanduser(path)


def open_state_dict(path: str) -> LazyStateDict:
    """Open a checkpoint (file, release directory, shard index or ``zoo://`` name) as a lazy tensor mapping."""
    path = resolve_checkpoint_path(path)
    state = LazyStateDict(path)
    if osp.isdir(path):
        for index_name in (SAFETENSORS_INDEX, PICKLE_INDEX):
            if osp.isfile(osp.join(path, index_name)):
                _add_sharded(state, osp.join(path, index_name))
                return state
        for name in SINGLE_FILES:
            if osp.isfile(osp.join(path, name)):
                state._add_file(osp.join(path, name))
                return state
        raise CheckpointError(f'{path} is a directory without {SAFETENSORS_INDEX}, {PICKLE_INDEX} or any of '
                              f'{SINGLE_FILES}; point at the Hugging Face release folder or at one file.')
    if path.endswith('.json'):
        _add_sharded(state, path)
        return state
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist.')
    state._add_file(path)
    return state


def _add_sharded(state: LazyStateDict, index_path: str):
    with open(index_path) as f:
        weight_map = json.load(f).get('weight_map')
    if not isinstance(weight_map, dict):
        raise CheckpointError(f'{index_path} has no "weight_map"; it is not a shard index.')
    folder = osp.dirname(index_path)
    by_file: Dict[str, List[str]] = {}
    for key, file in weight_map.items():
        by_file.setdefault(file, []).append(key)
    missing = [f for f in by_file if not osp.isfile(osp.join(folder, f))]
    if missing:
        raise CheckpointError(f'{index_path} lists shards that are not there: {missing}; download the release '
                              f'completely (tools/download.py download NAME).')
    for file, keys in sorted(by_file.items()):
        state._add_file(osp.join(folder, file), keys)


def save_safetensors_shards(state_dict: Dict[str, torch.Tensor], folder: str, max_shard_bytes: int) -> List[str]:
    """Write ``state_dict`` as Hugging Face-style safetensors shards plus their index; returns the shard names."""
    from safetensors.torch import save_file
    os.makedirs(folder, exist_ok=True)
    shards: List[Dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state_dict.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = tensor.contiguous()
        size += nbytes
    names = [f'model-{i + 1:05d}-of-{len(shards):05d}.safetensors' for i in range(len(shards))]
    weight_map = {}
    for name, shard in zip(names, shards):
        save_file(shard, osp.join(folder, name), metadata={'format': 'pt'})
        weight_map.update({k: name for k in shard})
    total = sum(t.numel() * t.element_size() for t in state_dict.values())
    with open(osp.join(folder, SAFETENSORS_INDEX), 'w') as f:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    return names

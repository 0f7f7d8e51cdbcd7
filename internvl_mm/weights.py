"""Safe, lazy reading of checkpoints in every layout the InternVL releases use.

One entry point, :func:`open_state_dict`, turns a path into a read-only mapping ``key -> tensor``:

- a Hugging Face release directory (``model.safetensors``, ``model.safetensors.index.json`` with shards, or the
  ``pytorch_model.bin`` equivalents), a single ``.safetensors`` file, or a ``.pth`` / ``.pt`` / ``.bin`` file;
- ``SCHEME://NAME`` for any scheme registered with :func:`register_scheme` (the model zoo registers ``zoo://``);
  this module knows no scheme itself.

Safetensors are read lazily, one tensor at a time, so a 6B checkpoint never sits in memory twice. Pickled files
are read with ``torch.load(weights_only=True, mmap=True)``: an untrusted file can not run code, and a file that needs
arbitrary globals is refused with an error that says so. Nesting under ``state_dict`` / ``module`` / ``model`` is
unwrapped.

:func:`load_weights` is the one copy loop every loading path uses: the source keys pass through the model's own
load-state-dict pre-hooks (where each model adapts official layouts and resizes what needs resizing) as lazy
placeholders, so nothing is read before the keys and shapes are known to fit; then tensors are copied one at a time.
"""
import fnmatch
import hashlib
import json
import os
import os.path as osp
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

import torch
import torch.nn as nn

from internvl_mm.errors import CheckpointError
from internvl_mm.files import atomic_path, atomic_write

SAFETENSORS_INDEX = 'model.safetensors.index.json'
PICKLE_INDEX = 'pytorch_model.bin.index.json'
SINGLE_FILES = ('model.safetensors', 'pytorch_model.bin', 'model.pth')
PICKLE_SUFFIXES = ('.pth', '.pt', '.bin', '.ckpt')
NESTING_KEYS = ('state_dict', 'module', 'model')
# scheme ('zoo://') -> a function turning 'zoo://NAME' into a local path; filled by the modules that own a scheme
_SCHEMES: Dict[str, Callable[[str], str]] = {}


def register_scheme(scheme: str, resolve: Callable[[str], str]) -> None:
    """Make ``scheme`` (e.g. ``'zoo://'``) usable wherever a checkpoint path is named; ``resolve`` returns the
    local file or folder for a URI."""
    _SCHEMES[scheme] = resolve


class LazyStateDict(Mapping):
    """A read-only ``key -> tensor`` mapping over one or more checkpoint files; tensors load on access."""

    def __init__(self, source: str):
        self.source = source
        self.files: List[str] = []  # the files read, in the order added (an index first for sharded releases)
        self._key_to_reader: Dict[str, '_FileReader'] = {}

    def _add_file(self, path: str, keys=None):
        reader = _open_file(path)
        self.files.append(path)
        if keys is not None:
            absent = sorted(set(keys) - set(reader.keys()))
            if absent:
                raise CheckpointError(f'the shard index of {self.source} maps {len(absent)} keys (e.g. {absent[0]}) '
                                      f'to {osp.basename(path)}, which does not hold them; the index does not belong '
                                      f'to these shards: download the release again (tools/download.py verify NAME)')
        for key in (keys if keys is not None else reader.keys()):
            self._key_to_reader[key] = reader

    def __getitem__(self, key: str) -> torch.Tensor:
        return self._key_to_reader[key].get(key)

    def pending(self, key: str) -> 'PendingTensor':
        """A placeholder for ``key`` that knows its shape and reads the tensor only when asked."""
        reader = self._key_to_reader[key]
        return PendingTensor(tuple(reader.shape(key)), lambda: reader.get(key))

    def __iter__(self) -> Iterator[str]:
        return iter(self._key_to_reader)

    def __len__(self) -> int:
        return len(self._key_to_reader)

    def __repr__(self):
        return f'LazyStateDict({self.source!r}, {len(self)} tensors)'


class PrefixView(Mapping):
    """The keys of a state dict that start with ``prefix``, without it (lazy, like the state dict it views)."""

    def __init__(self, state: Mapping, prefix: str):
        self.state, self.prefix = state, prefix
        self.source = getattr(state, 'source', 'the given state dict')
        self._keys = [k[len(prefix):] for k in state if k.startswith(prefix)]

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.state[self.prefix + key]

    def pending(self, key: str):
        return self.state.pending(self.prefix + key) if hasattr(self.state, 'pending') else self[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


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

    def shape(self, key) -> List[int]:
        return self._file.get_slice(key).get_shape()


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

    def shape(self, key) -> torch.Size:
        return self._dict[key].shape


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
    """Map a registered ``SCHEME://NAME`` to a local file or directory; other paths pass through."""
    for scheme, resolve in _SCHEMES.items():
        if path.startswith(scheme):
            return resolve(path)
    if '://' in path and not osp.exists(path):
        known = ', '.join(sorted(_SCHEMES)) or 'none'
        raise CheckpointError(f'checkpoint {path}: unknown scheme {path.split("://")[0]}:// (registered: {known}; '
                              f'zoo:// needs `import internvl_mm`)')
    return osp.expanduser(path)


def open_state_dict(path: str) -> LazyStateDict:
    """Open a checkpoint (file, release directory, shard index or registered ``SCHEME://`` name) as a lazy tensor
    mapping."""
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


_DIGESTS: Dict[tuple, str] = {}


def file_sha256(path: str) -> str:
    """SHA-256 of a file, computed once per process for an unchanged file (same size and mtime)."""
    stat = os.stat(path)
    key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 24), b''):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def source_digest(path: str) -> str:
    """The SHA-256 identity of a checkpoint source: the file's own digest for one file; for a sharded release,
    the digest of its ``name digest`` lines (index and shards), so any changed shard changes it."""
    files = open_state_dict(path).files
    if len(files) == 1:
        return file_sha256(files[0])
    lines = ''.join(f'{osp.basename(f)} {file_sha256(f)}\n' for f in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def _add_sharded(state: LazyStateDict, index_path: str):
    try:
        with open(index_path) as f:
            weight_map = json.load(f).get('weight_map')
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
        raise CheckpointError(f'{index_path} is not a readable shard index ({e}); download the release again '
                              f'(tools/download.py verify NAME).') from e
    if not isinstance(weight_map, dict):
        raise CheckpointError(f'{index_path} has no "weight_map"; it is not a shard index.')
    folder = osp.dirname(index_path)
    state.files.append(index_path)
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
        with atomic_path(osp.join(folder, name)) as tmp:
            save_file(shard, tmp, metadata={'format': 'pt'})
        weight_map.update({k: name for k in shard})
    total = sum(t.numel() * t.element_size() for t in state_dict.values())
    with atomic_write(osp.join(folder, SAFETENSORS_INDEX), 'w') as f:  # last: the index names complete shards only
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    return names


# ----------------------------------------------------------------------------------------------------------------
# The one copy loop
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingTensor:
    """A checkpoint tensor that has not been read: its shape, and how to read it. Load-state-dict pre-hooks may
    rename it freely; one that needs the values (a resize) calls :func:`materialize`."""
    shape: tuple
    read: Callable[[], torch.Tensor] = field(repr=False)


def materialize(value: Union[torch.Tensor, PendingTensor]) -> torch.Tensor:
    """The tensor behind a state-dict value (read now if it is pending)."""
    return value.read() if isinstance(value, PendingTensor) else value


@dataclass
class LoadReport:
    """What :func:`load_weights` did: every model key it filled, the allowed-missing ones it left, and the
    checkpoint keys it ignored."""
    loaded: List[str]
    missing: List[str]
    ignored: List[str]


def apply_load_pre_hooks(module: nn.Module, state: dict) -> None:
    """Run the load-state-dict pre-hooks of ``module`` and of every submodule on ``state`` in place, parents
    first and each with its own key prefix, as ``nn.Module.load_state_dict`` runs them."""
    for name, submodule in module.named_modules():
        prefix = f'{name}.' if name else ''
        for hook in list(submodule._load_state_dict_pre_hooks.values()):
            hook(state, prefix, {}, True, [], [], [])


def _allowed(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + '.*') for p in patterns)


@torch.no_grad()
def load_weights(module: nn.Module, source: Union[str, Mapping], *, what: Optional[str] = None,
                 allow_missing: Sequence[str] = (), ignore_unexpected: Optional[Callable[[str], bool]] = None,
                 hint: str = '') -> LoadReport:
    """Copy a checkpoint into ``module`` strictly: every path (``init_cfg``, ``load_from``, ``tools/test.py``,
    the models' ``load_pretrained``) ends here.

    ``source`` is anything :func:`open_state_dict` opens, or a mapping. Its keys go through the module tree's
    load-state-dict pre-hooks (the models' checkpoint adapters) as :class:`PendingTensor` placeholders; then keys and
    shapes are compared with the module's state dict, and only if everything fits are the tensors read and copied,
    one at a time. Model keys matching an ``allow_missing`` glob may be absent (they keep their values); checkpoint
    keys for which ``ignore_unexpected`` is true are skipped; anything else raises :class:`CheckpointError` naming
    counts and examples, followed by ``hint``. A DDP ``module.`` prefix on every key is dropped.
    """
    name = source if isinstance(source, str) else getattr(source, 'source', 'the given state dict')
    if isinstance(source, str):
        source = open_state_dict(source)
    strip = 'module.' if source and all(k.startswith('module.') for k in source) else ''
    pending = source.pending if hasattr(source, 'pending') else source.__getitem__
    state = {key[len(strip):]: pending(key) for key in source}
    apply_load_pre_hooks(module, state)
    own = module.state_dict(keep_vars=True)
    what = what or type(module).__name__
    missing = [k for k in own if k not in state]
    not_allowed = [k for k in missing if not _allowed(k, allow_missing)]
    unexpected = [k for k in state if k not in own]
    ignored = [k for k in unexpected if ignore_unexpected is not None and ignore_unexpected(k)]
    extra = [k for k in unexpected if k not in set(ignored)]
    mismatched = [(k, tuple(state[k].shape), tuple(own[k].shape)) for k in own
                  if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    problems = []
    if mismatched:
        key, theirs, ours = mismatched[0]
        problems.append(f'{len(mismatched)} shape mismatches (e.g. {key}: checkpoint {theirs} vs model {ours})')
    if not_allowed:
        problems.append(f'{len(not_allowed)} model keys missing from it (e.g. {", ".join(not_allowed[:3])})')
    if extra:
        problems.append(f'{len(extra)} keys the model does not have (e.g. {", ".join(extra[:3])})')
    if problems:
        raise CheckpointError(f'checkpoint {name} does not fit this {what}: {"; ".join(problems)}'
                              + (f'; {hint}' if hint else ''))
    for key, target in own.items():
        if key in state:
            target.copy_(materialize(state[key]))
    return LoadReport(loaded=[k for k in own if k in state], missing=missing, ignored=ignored)

"""The model zoo: the official InternViT / InternVL weights by name, safely and resumably downloaded.

``zoo://NAME`` works wherever a checkpoint is named (``init_cfg``, ``load_from``); ``tools/download.py`` lists,
downloads, verifies and locates releases. Releases live in the standard Hugging Face cache (``HF_HUB_CACHE``), are
fetched from ``HF_ENDPOINT`` (a mirror, if set) at a pinned revision, are hash-checked against the hub before any
loader can see them, and are read from the cache alone with ``HF_HUB_OFFLINE=1``.
"""
from .catalog import ZOO, ZooModel, get_model, list_models
from .errors import ChecksumError, ZooError
from .hub import FileCheck, HubSettings, cached_snapshot, download, local_path, resolve, verify
from .loading import load_zoo_checkpoint, resolve_zoo_uri

__all__ = [
    'ZOO', 'ZooModel', 'get_model', 'list_models', 'ChecksumError', 'ZooError', 'FileCheck', 'HubSettings',
    'cached_snapshot', 'download', 'local_path', 'resolve', 'verify', 'load_zoo_checkpoint', 'resolve_zoo_uri'
]

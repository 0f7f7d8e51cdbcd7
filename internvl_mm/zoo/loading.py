"""``zoo://NAME`` and release folders wherever a checkpoint is named. The zoo registers its scheme into
:mod:`internvl_mm.weights` (``init_cfg``, :func:`~internvl_mm.weights.load_weights`, the tools) and into mmengine's
``CheckpointLoader`` (``load_from``, the toolboxes' ``init_model`` / ``init_detector`` / inferencers). In a
distributed job rank 0 fetches the release while the other ranks wait, then they read it from the cache it filled.
The zoo hands over the release's tensors under their own names: adapting them to a model is the model's checkpoint
adapter's job.

mmengine's local loader ``torch.load``s whatever path it gets, so a Hugging Face release folder (a download, or what
``tools/export_release.py`` writes) failed in the toolboxes' loaders; the local loader registered here reads a folder
through :func:`~internvl_mm.weights.open_state_dict` (safetensors, or pickles weights-only) and leaves files to
mmengine's own loader."""
import os.path as osp
from typing import Callable, Mapping, Optional, TypeVar

from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from internvl_mm.models.backbones.intern_vit_checkpoint import convert_checkpoint_key
from internvl_mm.weights import open_state_dict, register_scheme

from .catalog import ZOO_SCHEME, get_model
from .errors import ZooError
from .hub import resolve

T = TypeVar('T')
# The prefix under which OpenMMLab task models (and InternVL, which accepts it for its vision tower) keep their
# backbone: where ``load_from`` puts the keys of a backbone-only release.
BACKBONE_PREFIX = 'backbone.'


def rank_zero_first(fetch: Callable[[], T]) -> T:
    """Run ``fetch`` on rank 0 while the other ranks wait, then on them (normally a cache hit: with a cache that
    is not shared between nodes each node fills its own). A failure on rank 0 stops every rank with its message
    instead of leaving them waiting."""
    rank, world_size = get_dist_info()
    if world_size == 1:
        return fetch()
    outcome = [None]
    if rank == 0:
        try:
            result = fetch()
        except Exception as error:
            broadcast_object_list([f'{type(error).__name__}: {error}'], src=0)
            raise
        broadcast_object_list(outcome, src=0)
        return result
    broadcast_object_list(outcome, src=0)
    if outcome[0] is not None:
        raise ZooError(f'rank 0 could not fetch the weights, so rank {rank} stops too: {outcome[0]}')
    return fetch()


def resolve_zoo_uri(uri: str) -> str:
    """The local snapshot folder for ``zoo://NAME``, downloaded (on rank 0 first) if it is not cached."""
    model = get_model(uri)
    return rank_zero_first(lambda: resolve(model.name))


register_scheme(ZOO_SCHEME, resolve_zoo_uri)


@CheckpointLoader.register_scheme(prefixes=ZOO_SCHEME)
def load_zoo_checkpoint(filename: str, map_location: Optional[str] = None, logger=None) -> dict:
    """mmengine's loader for ``load_from='zoo://NAME'``: the release's tensors, read safely. A backbone-only
    release is placed under ``backbone.``; the model's load hooks adapt names and shapes (position embedding, patch
    kernel) as for any other checkpoint. Tensors stay on the CPU, as mmengine's own loaders return them."""
    model = get_model(filename)
    return mmengine_checkpoint(open_state_dict(filename), backbone_only=model.contents == 'backbone',
                               meta={'zoo': model.name})


def mmengine_checkpoint(source: Mapping, backbone_only: bool, meta: dict) -> dict:
    """What mmengine's loaders return, the tensors read; a backbone-only release goes under ``backbone.``."""
    prefix = BACKBONE_PREFIX if backbone_only else ''
    return {'state_dict': {prefix + key: source[key] for key in source}, 'meta': meta}


def is_backbone_only(keys) -> bool:
    """Every key an InternViT key (an InternViT release, or InternViT's own state dict): nothing else is in it."""
    keys = list(keys)
    return bool(keys) and all(convert_checkpoint_key(key) is not None for key in keys)


_mmengine_load_from_local = getattr(CheckpointLoader._schemes[''], '__wrapped__', CheckpointLoader._schemes[''])


def load_from_local_or_folder(filename: str, map_location: Optional[str] = None) -> dict:
    """mmengine's local loader for files; a release folder (``model.safetensors``, a shard index, ...) is read
    through :func:`open_state_dict`. An InternViT release (what ``tools/export_release.py`` writes for a classifier,
    segmentor or detector) is placed under ``backbone.``, like a backbone-only ``zoo://`` release."""
    path = osp.expanduser(filename)
    if not osp.isdir(path):
        return _mmengine_load_from_local(filename, map_location)
    source = open_state_dict(path)
    return mmengine_checkpoint(source, backbone_only=is_backbone_only(source), meta={'release_folder': path})


load_from_local_or_folder.__wrapped__ = _mmengine_load_from_local
CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_or_folder, force=True)

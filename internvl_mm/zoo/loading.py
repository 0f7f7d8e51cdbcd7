"""``zoo://NAME`` wherever a checkpoint is named: ``init_cfg=dict(type='Pretrained', checkpoint='zoo://NAME')``
(through :func:`internvl_mm.weights.open_state_dict`) and ``load_from='zoo://NAME'`` (through mmengine's
``CheckpointLoader``). In a distributed job rank 0 fetches the release while the other ranks wait, then they read
it from the cache it filled."""
from typing import Callable, Optional, TypeVar

from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from internvl_mm.weights import ZOO_SCHEME, open_state_dict

from .catalog import get_model
from .errors import ZooError
from .hub import resolve

T = TypeVar('T')


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


@CheckpointLoader.register_scheme(prefixes=ZOO_SCHEME)
def load_zoo_checkpoint(filename: str, map_location: Optional[str] = None, logger=None) -> dict:
    """mmengine's loader for ``load_from='zoo://NAME'``: the release's InternViT weights, read safely and renamed to
    this package's keys under ``backbone.`` (the backbone of an mmpretrain / mmseg / mmdet model). Shapes must fit
    as they are (``init_cfg`` also resizes the position embedding and patch kernel); tensors stay on the CPU, as
    mmengine's own loaders return them."""
    from internvl_mm.models.backbones.intern_vit import convert_checkpoint_key
    source = open_state_dict(filename)
    state_dict = {}
    for key in source:
        new_key = convert_checkpoint_key(key)
        if new_key is not None:
            state_dict[f'backbone.{new_key}'] = source[key]
    return {'state_dict': state_dict, 'meta': {'zoo': filename}}

"""``zoo://NAME`` wherever a checkpoint is named. The zoo registers its scheme into :mod:`internvl_mm.weights`
(``init_cfg``, :func:`~internvl_mm.weights.load_weights`, the tools) and into mmengine's ``CheckpointLoader``
(``load_from``, the toolboxes' ``init_model``). In a distributed job rank 0 fetches the release while the other
ranks wait, then they read it from the cache it filled. The zoo hands over the release's tensors under their own
names: adapting them to a model is the model's checkpoint adapter's job."""
from typing import Callable, Optional, TypeVar

from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

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
    source = open_state_dict(filename)
    prefix = BACKBONE_PREFIX if model.contents == 'backbone' else ''
    return {'state_dict': {prefix + key: source[key] for key in source}, 'meta': {'zoo': model.name}}

"""Checkpoints of any training strategy: one fp32 state dict from plain / DDP / FSDP files (mmengine format, full
state dicts in parameter names) read safely, or from DeepSpeed ZeRO-1/2/3 folders reassembled from their fp32
master partitions; and the strict load that ``tools/test.py`` uses."""
import glob
import os
import os.path as osp
from collections.abc import Mapping

import torch
import torch.nn as nn

from internvl_mm.errors import CheckpointError
from internvl_mm.files import atomic_write
from internvl_mm.weights import load_weights, open_state_dict


def is_deepspeed_checkpoint(path: str) -> bool:
    return osp.isdir(path) and bool(glob.glob(osp.join(path, '*model_states.pt')))


def consolidated_state_dict(path: str) -> Mapping:
    """``key -> fp32 tensor`` for the whole model, whatever strategy saved ``path``."""
    if is_deepspeed_checkpoint(path):
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
        folder, tag = osp.split(osp.abspath(path).rstrip('/'))
        return get_fp32_state_dict_from_zero_checkpoint(folder, tag=tag)
    return open_state_dict(path)


def save_consolidated(path: str, out_file: str) -> int:
    """Write ``path``'s weights as an mmengine-style ``{'state_dict', 'meta'}`` fp32 file, atomically; returns the
    tensor count. ``out_file`` may not be ``path`` (or lie inside a checkpoint folder): the training checkpoint, with
    its optimizer state, is never replaced."""
    source, out = osp.realpath(path), osp.realpath(out_file)
    if out == source or out.startswith(source.rstrip(os.sep) + os.sep):
        raise CheckpointError(f'{out_file} is the checkpoint being consolidated; write the consolidated weights to '
                              f'another file')
    state = {k: v.float() if v.is_floating_point() else v for k, v in consolidated_state_dict(path).items()}
    with atomic_write(out_file) as f:
        torch.save({'state_dict': state, 'meta': {'consolidated_from': osp.abspath(path)}}, f)
    return len(state)


def load_checkpoint_strict(model: nn.Module, path: str) -> None:
    """Load a checkpoint of any strategy (a DeepSpeed folder is consolidated on the fly), a release folder or a
    ``zoo://`` name into ``model``, failing with counts and examples if anything does not fit. The model's load
    hooks adapt official layouts first, so a release folder of the same architecture fits."""
    if not osp.exists(path) and '://' not in path:
        raise CheckpointError(f'checkpoint {path} does not exist')
    load_weights(getattr(model, 'module', model), consolidated_state_dict(path), what="config's model")

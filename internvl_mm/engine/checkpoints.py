"""One fp32 state dict from a checkpoint of any strategy: plain / DDP / FSDP files (mmengine format, full state
dicts) read safely, DeepSpeed ZeRO-1/2/3 checkpoint folders reassembled from their fp32 master partitions."""
import glob
import os.path as osp
from collections.abc import Mapping

import torch

from internvl_mm.weights import open_state_dict


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
    """Write ``path``'s weights as an mmengine-style ``{'state_dict', 'meta'}`` fp32 file; returns the tensor count."""
    state = {k: v.float() if v.is_floating_point() else v for k, v in consolidated_state_dict(path).items()}
    torch.save({'state_dict': state, 'meta': {'consolidated_from': osp.abspath(path)}}, out_file)
    return len(state)

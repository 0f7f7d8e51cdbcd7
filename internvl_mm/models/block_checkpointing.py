"""Activation checkpointing of a model's repeated blocks, and the declaration the engine reads.

A model lists its repeated block classes in ``checkpointable_blocks``; the strategies read it (FSDP wraps one unit
per block, FSDP's activation checkpointing checks these classes) and the memory planner counts those blocks, so no
engine code names a model's classes. ``with_cp`` is the model's own switch: every block (True), none (False) or the
first N blocks (int).
"""
from typing import ClassVar, Tuple, Type, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp


class BlockCheckpointing:
    """Mixin for a model that runs a stack of ``num_layers`` blocks; call :meth:`run_block` for each block."""
    checkpointable_blocks: ClassVar[Tuple[Type[nn.Module], ...]] = ()
    num_layers: int
    num_checkpointed: int = 0

    def set_grad_checkpointing(self, enable: Union[bool, int] = True) -> None:
        """Checkpoint the activations of every block (True), none (False) or the first ``enable`` blocks (int)."""
        if isinstance(enable, bool):
            self.num_checkpointed = self.num_layers if enable else 0
        else:
            self.num_checkpointed = max(0, min(int(enable), self.num_layers))

    @property
    def with_cp(self) -> int:
        return self.num_checkpointed

    def run_block(self, index: int, block: nn.Module, *args):
        """``block(*args)``, recomputed in backward instead of keeping its activations when block ``index`` is
        checkpointed and a gradient is being recorded in training."""
        if index < self.num_checkpointed and self.training and torch.is_grad_enabled():
            return cp.checkpoint(block, *args, use_reentrant=False)
        return block(*args)


def checkpointable_block_classes(model: nn.Module) -> Tuple[Type[nn.Module], ...]:
    """Every block class the modules of ``model`` declare (in first-seen order)."""
    classes = []
    for module in model.modules():
        classes += [c for c in getattr(module, 'checkpointable_blocks', ()) if c not in classes]
    return tuple(classes)

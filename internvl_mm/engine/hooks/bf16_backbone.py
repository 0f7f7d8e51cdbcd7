"""Run the backbone in bfloat16 and the neck and heads in fp32, as the official InternViT segmentation code does.

For a frozen backbone (linear probe, head tuning) this halves the backbone's memory and uses bf16 tensor cores,
while the trainable neck/heads keep fp32 weights and optimizer states. A trainable backbone is refused: bf16
weights updated by a plain optimizer lose small updates; train it with a DeepSpeed/FSDP bf16 strategy (fp32 master
weights) instead.
"""
import torch
import torch.nn as nn
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


def _cast(obj, dtype):
    if isinstance(obj, torch.Tensor):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cast(o, dtype) for o in obj)
    return obj


@HOOKS.register_module()
class BF16BackboneHook(Hook):
    """``custom_hooks = [dict(type='BF16BackboneHook')]``; ``module`` names the submodule to run in bf16."""
    priority = 'VERY_HIGH'

    def __init__(self, module: str = 'backbone'):
        self.module = module
        self._handles = []

    def before_run(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        backbone: nn.Module = model.get_submodule(self.module)
        trainable = [n for n, p in backbone.named_parameters() if p.requires_grad]
        if trainable:
            raise ValueError(f'BF16BackboneHook: {self.module} has trainable parameters (e.g. {trainable[0]}); bf16 '
                             f'weights need fp32 master copies. Freeze it (frozen_stages=\'all\') or use a '
                             f'DeepSpeed bf16 strategy instead of this hook.')
        backbone.to(torch.bfloat16)
        self._handles = [
            backbone.register_forward_pre_hook(lambda m, args: _cast(args, torch.bfloat16)),
            backbone.register_forward_hook(lambda m, args, out: _cast(out, torch.float32)),
        ]

    def after_run(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

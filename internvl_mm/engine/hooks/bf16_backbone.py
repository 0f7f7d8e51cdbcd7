"""Run the backbone in bfloat16 and the neck and heads in fp32, as the official InternViT segmentation code does.

- A frozen backbone (linear probe, head tuning) is cast to bf16 as a whole: half the weight memory, bf16 kernels.
- A trainable backbone (full tuning) keeps fp32 weights, which are its optimizer's master copies, and runs its
  forward under bf16 autocast: matmuls in bf16, norms and softmax in fp32, gradients back into fp32 weights.
- An adapter-tuned backbone (LoRA / DoRA) runs under autocast too, with its frozen base weights stored in bf16
  (half their memory; they are never updated and adapter checkpoints do not hold them) and the adapters in fp32.
Either way its outputs are cast to fp32 for the neck and heads.
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
        if any(p.requires_grad for p in backbone.parameters()):
            device_type = next(backbone.parameters()).device.type
            if getattr(backbone, 'adapter', None):
                for param in backbone.parameters():
                    if not param.requires_grad and param.is_floating_point():
                        param.data = param.data.to(torch.bfloat16)
            self._handles = [
                backbone.register_forward_pre_hook(lambda m, args: self._enter_autocast(device_type)),
                backbone.register_forward_hook(lambda m, args, out: self._exit_autocast(out), always_call=True),
            ]
            return
        backbone.to(torch.bfloat16)
        self._handles = [
            backbone.register_forward_pre_hook(lambda m, args: _cast(args, torch.bfloat16)),
            backbone.register_forward_hook(lambda m, args, out: _cast(out, torch.float32)),
        ]

    def _enter_autocast(self, device_type: str):
        self._autocast = torch.autocast(device_type, dtype=torch.bfloat16)
        self._autocast.__enter__()

    def _exit_autocast(self, out):
        self._autocast.__exit__(None, None, None)  # always_call: also when the forward raised
        return _cast(out, torch.float32)

    def after_run(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

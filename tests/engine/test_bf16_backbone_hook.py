"""BF16BackboneHook: backbone weights and compute in bf16, everything after it in fp32."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from internvl_mm.engine.hooks import BF16BackboneHook
from internvl_mm.models import InternViT


class Segmentor(nn.Module):

    def __init__(self, **kwargs):
        super().__init__()
        self.backbone = InternViT('tiny', out_type='featmap', **kwargs)
        self.head = nn.Conv2d(64, 3, 1)

    def forward(self, x):
        return self.head(self.backbone(x)[-1])


def test_backbone_runs_in_bf16_and_the_rest_in_fp32():
    model = Segmentor(frozen_stages='all')
    runner = SimpleNamespace(model=model)
    hook = BF16BackboneHook()
    hook.before_run(runner)
    assert all(p.dtype == torch.bfloat16 for p in model.backbone.parameters())
    assert model.head.weight.dtype == torch.float32
    features = model.backbone(torch.randn(1, 3, 56, 56))
    assert features[-1].dtype == torch.float32  # cast back for the fp32 neck/heads
    out = model(torch.randn(1, 3, 56, 56))
    out.sum().backward()
    assert out.dtype == torch.float32 and model.head.weight.grad is not None
    hook.after_run(runner)
    assert model.backbone(torch.randn(1, 3, 56, 56).bfloat16())[-1].dtype == torch.bfloat16


def test_trainable_backbone_computes_in_bf16_with_fp32_master_weights():
    model = Segmentor()
    hook = BF16BackboneHook()
    hook.before_run(SimpleNamespace(model=model))
    seen = []
    model.backbone.blocks[0].mlp.fc1.register_forward_hook(lambda m, args, out: seen.append(out.dtype))
    out = model(torch.randn(1, 3, 56, 56))
    assert seen == [torch.bfloat16]  # the backbone's matmuls ran in bf16
    assert out.dtype == torch.float32 and not torch.is_autocast_enabled('cpu')  # the head ran in fp32
    out.sum().backward()
    assert all(p.dtype == torch.float32 for p in model.backbone.parameters())  # fp32 master weights
    grad = model.backbone.blocks[0].attn.qkv.weight.grad
    assert grad is not None and grad.dtype == torch.float32 and grad.abs().sum() > 0
    hook.after_run(SimpleNamespace(model=model))
    seen.clear()
    model(torch.randn(1, 3, 56, 56))
    assert seen == [torch.float32]

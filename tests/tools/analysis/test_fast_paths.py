"""The performance changes to InternViT keep its numerics: RMSNorm off CUDA (two passes, less kept for backward)
and the fused layer-scale residual (addcmul)."""
import pytest
import torch
import torch.nn.functional as F

from internvl_mm.models.backbones.intern_vit import Block, RMSNorm, _RMSNormFunction
from tests.helpers import rel_err
from tools.analysis.lib.benchmark import peak_bytes


@pytest.mark.parametrize('strided', [False, True], ids=['contiguous', 'qkv-view'])
def test_rms_norm_equals_torch_forward_and_backward(strided):
    base = torch.randn(2, 9, 3, 48) * 3 if strided else torch.randn(2, 9, 48) * 3
    weight = (torch.rand(48) + 0.5).requires_grad_()
    grad = torch.randn(2, 9, 48)
    results = []
    for fn in (lambda x: _RMSNormFunction.apply(x, weight, 1e-6), lambda x: F.rms_norm(x, (48, ), weight, 1e-6)):
        leaf = base.clone().requires_grad_()
        x = leaf[:, :, 1] if strided else leaf  # q/k are strided views of the fused qkv output
        out = fn(x)
        out.backward(grad)
        results.append((out.detach(), leaf.grad, weight.grad.clone()))
        weight.grad = None
    for ours, torchs in zip(*results):
        assert rel_err(ours, torchs) < 1e-6


def test_rms_norm_bf16_keeps_fp32_statistics():
    x = torch.randn(4, 64) * 50
    w = torch.rand(64) + 0.5
    ours = RMSNorm(64)
    ours.weight.data.copy_(w)
    exact = F.rms_norm(x.double(), (64, ), w.double(), 1e-6)
    assert ours(x.bfloat16()).dtype == torch.bfloat16
    assert rel_err(ours(x.bfloat16()).double(), exact) < 1e-2


def test_rms_norm_backward_in_bf16():
    """bf16 input and weight (DeepSpeed bf16 on CPU ranks): gradients in the input's and weight's dtypes, close
    to the fp64 ones."""
    x = (torch.randn(4, 64) * 3).double().requires_grad_()
    w = (torch.rand(64) + 0.5).double().requires_grad_()
    F.rms_norm(x, (64, ), w, 1e-6).square().sum().backward()
    xb = x.detach().bfloat16().requires_grad_()
    wb = w.detach().bfloat16().requires_grad_()
    _RMSNormFunction.apply(xb, wb, 1e-6).float().square().sum().backward()
    assert xb.grad.dtype == wb.grad.dtype == torch.bfloat16
    assert rel_err(xb.grad.double(), x.grad) < 2e-2 and rel_err(wb.grad.double(), w.grad) < 2e-2


def test_rms_norm_keeps_less_for_backward():
    """A train step through a norm holds the input and a per-token scale, not the normalised input too."""
    x = torch.randn(64, 1024, requires_grad=True)
    w = torch.ones(1024, requires_grad=True)
    ours = peak_bytes(lambda: _RMSNormFunction.apply(x, w, 1e-6).sum().backward(), torch.device('cpu'))[1]
    decomposed = peak_bytes(lambda: F.rms_norm(x, (1024, ), w, 1e-6).sum().backward(), torch.device('cpu'))[1]
    assert ours < decomposed


def test_block_residual_paths_agree():
    """addcmul in eval / without drop path; with drop path in training, the per-sample drop still applies."""
    block = Block(64, 2, 256, 'rms_norm', 1e-6, False, True, 0.5, drop_path=0.5)
    x = torch.randn(4, 17, 64)
    block.eval()
    with torch.no_grad():
        h = x + block.ls1(block.attn(block.norm1(x), (4, 4)))
        expected = h + block.ls2(block.mlp(block.norm2(h)))
        assert rel_err(block(x, (4, 4)), expected) < 1e-6
    block.train()
    torch.manual_seed(0)
    out = block(x, (4, 4))
    torch.manual_seed(0)
    h = x + block.drop_path(block.ls1(block.attn(block.norm1(x), (4, 4))))
    expected = h + block.drop_path(block.ls2(block.mlp(block.norm2(h))))
    assert rel_err(out, expected) < 1e-6
    out.sum().backward()
    assert block.ls1.gamma.grad is not None

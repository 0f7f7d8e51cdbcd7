"""The benchmark's parts: the reference mapping, the step's matrix products, CPU peak memory, the GPU-mode logic
(peaks and MFU targets, testable without a GPU)."""
import torch
import torch.nn.functional as F

from tests.helpers import random_internvit, rel_err
from tools.analysis.lib import benchmark as bench
from tools.analysis.lib.flops import ViTShape, internvit_macs
from tools.analysis.lib.reference import to_transformers_layout, transformers_reference


def test_reference_has_our_weights_and_outputs():
    model = random_internvit('tiny')
    mapped = to_transformers_layout(model.state_dict())
    assert sum(v.numel() for v in mapped.values()) == sum(v.numel() for v in model.state_dict().values())
    x = torch.randn(2, 3, 56, 56)
    for attn in ('sdpa', 'eager'):
        ref = transformers_reference(model, attn)
        assert ref.config._attn_implementation == attn
        assert all(not p.is_meta and p.requires_grad for p in ref.parameters())
        assert ref.encoder.layer[0].attention.q_proj.weight.data_ptr() != model.blocks[0].attn.qkv.weight.data_ptr()
        with torch.no_grad():
            assert rel_err(ref(pixel_values=x).last_hidden_state, model(x)[0]) <= 1e-5


def test_build_ours_is_deterministic_and_matches_the_preset():
    spec = bench.bench_arch('6b', 1, 224)
    assert (spec['embed_dims'], spec['num_heads'], spec['feedforward_channels'], spec['num_layers']) == \
        (3200, 25, 12800, 1)
    a = bench.build_ours(bench.bench_arch('tiny', 2, 112), torch.device('cpu'), torch.float32, seed=3)
    b = bench.build_ours(bench.bench_arch('tiny', 2, 112), torch.device('cpu'), torch.float32, seed=3)
    assert len(a.blocks) == 2 and a.pos_embed.shape == (1, 65, 64)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert 0.5 <= a.blocks[0].ls1.gamma.min() and a.blocks[0].ls1.gamma.max() <= 1.5


def test_step_matmuls():
    shape = ViTShape.from_arch('tiny')
    forward = bench.step_matmuls(shape, (56, 56), 2, 'forward', False)
    assert sum(p.flops for p in forward) == 2 * internvit_macs(shape, (56, 56), 2)['total']
    train = bench.step_matmuls(shape, (56, 56), 2, 'train', False)
    fc1 = {p.name: p for p in train if p.name.startswith('mlp.fc1')}
    assert [(p.m, p.k, p.n) for p in fc1.values()] == [(34, 64, 256), (34, 256, 64), (256, 34, 64)]
    assert 'patch_embed dA' not in {p.name for p in train}  # the image needs no gradient
    cp = bench.step_matmuls(shape, (56, 56), 2, 'train', True)
    extra = sum(p.flops for p in cp) - sum(p.flops for p in train)
    patch = 2 * 2 * 16 * 588 * 64
    assert extra == sum(p.flops for p in forward) - patch  # the blocks' forward, recomputed


def test_matmul_ceiling_runs_every_product_in_chunks():
    products = [bench.Product('a', 7, 16, 8, 16, 3), bench.Product('b', 1, 32, 16, 8, 2)]
    ceiling = bench.MatmulCeiling(products, torch.device('cpu'), torch.float32, max_chunk_bytes=2 * 16 * 16 * 4)
    assert ceiling() > 0
    a, b, chunks = ceiling._operands[(7, 16, 8, 16, 'nt')]
    assert a.shape == (2, 16, 8) and b.shape == (2, 8, 16) and chunks == 4
    assert a.is_contiguous() and b.transpose(1, 2).is_contiguous()  # B stored (n, k), like a Linear weight
    layouts = {p.name: p.layout for p in bench.step_matmuls(ViTShape.from_arch('tiny'), (56, 56), 1, 'train', False)}
    assert (layouts['mlp.fc1 fwd'], layouts['mlp.fc1 dA'], layouts['mlp.fc1 dB']) == ('nt', 'nn', 'tn')


def test_live_tensor_bytes():
    x = torch.randn(256, 256)  # 256 KiB, existed before: not counted
    w = torch.randn(256, 256, requires_grad=True)
    with bench.LiveTensorBytes() as tracker:
        view = x.t()  # a view of a pre-existing tensor: nothing allocated
        x.mul_(1.0)  # in place: nothing allocated
        assert tracker.live == 0
        a = x @ x
        b = a * 2
        del a
        assert tracker.live == 256 * 256 * 4 and tracker.peak == 2 * 256 * 256 * 4
        (view @ w).sum().backward()
    assert tracker.peak >= 2 * 256 * 256 * 4 and w.grad is not None
    assert tracker.live == 2 * 256 * 256 * 4  # b and the gradient (it was created inside)
    del b

    def attention(n):
        q = torch.randn(1, 2, n, 16)
        return bench.peak_bytes(lambda: F.scaled_dot_product_attention(q, q, q), torch.device('cpu'))[1]
    assert attention(512) == 2 * attention(256)  # flash attention on the CPU: no N x N matrix


def test_gpu_peaks_and_targets_without_a_gpu():
    assert bench.gpu_peak_tflops('NVIDIA H100 80GB HBM3', torch.bfloat16) == 989
    assert bench.gpu_peak_tflops('NVIDIA H100 PCIe', torch.bfloat16) == 756
    assert bench.gpu_peak_tflops('NVIDIA A100-SXM4-80GB', torch.float32) == 19.5
    assert bench.gpu_peak_tflops('Some Future GPU', torch.bfloat16) is None

    def row(mfu, mode='forward', size=224):
        case = bench.Case('6b', 48, size, 'bf16', mode, False, 32)
        results = {bench.OURS: bench.Measured([1.0]), 'hf-sdpa': bench.Measured([1.1])}
        return bench.Row(case, 257, 3200, 10, 10, results, {'hf-sdpa': 1.1}, {bench.OURS: 0.9}, {}, {}, mfu=mfu)
    checks = bench.target_checks([row(0.70), row(0.50), row(0.1, size=448)], torch.device('cuda'))
    mfu = [(ok, text) for text, ok, key in checks if key == 'gpu_6b_224_forward_mfu']
    assert [ok for ok, _ in mfu] == [True, False] and '70.0% >= 65%' in mfu[0][1]
    assert all(ok for text, ok, key in checks if key == 'speedup')


def test_attention_products_are_tiled_with_unchanged_flops():
    products = [p for p in bench.step_matmuls(ViTShape.from_arch('tiny'), (448, 448), 1, 'train', False)
                if p.name.startswith('attn.sdpa')]  # N = 1025 > the tiles
    tiled = bench.MatmulCeiling(products, torch.device('cpu'), torch.float32).products
    assert sum(p.flops for p in tiled) == sum(p.flops for p in products)
    assert max(p.m for p in tiled) <= 256 and max(max(p.k, p.n) for p in tiled) <= 512

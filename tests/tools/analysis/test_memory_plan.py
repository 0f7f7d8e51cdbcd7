"""The memory planner: its model-state formulas against DeepSpeed's estimators, its activation measurement against
the peak memory a real training step allocates on CPU, and the tool on a 6B config (built on the meta device)."""
import re

import pytest
import torch

from internvl_mm.models import InternViT
from tests.helpers import run_tool
from tools.analysis.lib.memory import (ModelFacts, Plan, deepspeed_estimates, fmt_bytes, fmt_params, format_plan,
                                       measure_activations, model_facts, model_state_bytes_per_gpu)

DEMO = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384, img_size=64, patch_size=8)


def test_model_states_match_deepspeed_estimators():
    facts = ModelFacts(params=6_000_000_000, trainable=6_000_000_000, largest_layer=41_000_000,
                       largest_block=123_000_000, optimizer_states=2)
    ours = model_state_bytes_per_gpu(facts, ranks=8)
    theirs = deepspeed_estimates(facts, gpus=8, nodes=1)
    for name in ('ZeRO-2', 'ZeRO-2 offload', 'ZeRO-3 offload'):
        assert ours[name] == pytest.approx(theirs[name], rel=1e-6), name
    # ZeRO-3: ours also counts each rank's 2-byte weight shard, which DeepSpeed's estimator leaves out
    assert ours['ZeRO-3'] == pytest.approx(theirs['ZeRO-3'] + 2 * facts.params / 8, rel=1e-6)


def test_frozen_parameters_only_cost_their_weights():
    facts = ModelFacts(params=100, trainable=0, largest_layer=10, largest_block=10, optimizer_states=2)
    states = model_state_bytes_per_gpu(facts, ranks=4)
    assert states['DDP'] == 400 and states['ZeRO-1'] == states['ZeRO-2'] == 200


def test_sizes_are_printed_in_units_by_magnitude():
    assert [fmt_bytes(v) for v in (512, 3 * 2**10, 96.7 * 2**20, 28.8 * 2**30)] == \
        ['512 B', '3.0 KiB', '96.7 MiB', '28.8 GiB']
    assert [fmt_params(n) for n in (789, 475_310, 6_390_000_000)] == ['789', '475.31K', '6.39B']
    table = format_plan('small', [Plan('DDP', 7.3 * 2**20, 19.4 * 2**20), Plan('ZeRO-3', 2**19, 2**10)], 80)
    ddp, zero3 = table.splitlines()[3:]
    assert ddp.split() == ['DDP', '7.3', 'MiB', '19.4', 'MiB', '26.7', 'MiB', 'yes']  # one unit for the table
    assert zero3.split()[1:3] == ['0.5', 'MiB'] and len(ddp) == len(zero3)


def _peak_allocated(step):
    from tools.analysis.scale_benchmark import peak_allocated_bytes
    return peak_allocated_bytes(step)


@pytest.mark.parametrize('adapter', [None, dict(type='LoRA', rank=8)], ids=['full', 'lora'])
@pytest.mark.parametrize('with_cp,tolerance', [(False, 0.15), (True, 0.35)])
def test_planned_total_close_to_measured_peak(with_cp, tolerance, adapter):
    """Planned weights + gradients + AdamW states + activations vs the peak torch allocates for two real fp32
    training steps on CPU (the checkpointed plan is deliberately conservative: it assumes a whole block's
    activations are alive during recomputation). With LoRA only the adapters have gradients and AdamW states."""
    images = torch.randn(16, 3, 64, 64)

    def train():
        model = InternViT(DEMO, out_type='avg_featmap', with_cp=with_cp, adapter=adapter)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        for _ in range(2):
            model(images)[0].square().mean().backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    measured = _peak_allocated(train)
    with torch.device('meta'):
        model = InternViT(DEMO, out_type='avg_featmap', adapter=adapter)
    meta_images = torch.empty(16, 3, 64, 64, device='meta')
    activations = measure_activations(lambda: model(meta_images), model, meta_images, 4, 'backbone')
    states = model_state_bytes_per_gpu(model_facts(model, 'AdamW'), 1, mixed_precision=False)['DDP']
    planned = states + (activations.saved_with_cp if with_cp else activations.saved)
    assert abs(planned / measured - 1) < tolerance, (planned, measured)


def test_memory_plan_tool_on_the_6b_segmentation_recipe():
    result = run_tool('analysis/memory_plan.py',
                      'configs/segmentation/upernet-full_internvit-6b-224px_8xb2-80k_ade20k-504x504.py',
                      '--gpus', '8', '--gpu-mem', '80')
    out = result.stdout
    assert '6.39B parameters, 6.39B trainable' in out and 'batch 2 x 504x504' in out
    ddp = next(line for line in out.splitlines() if line.startswith('DDP'))
    zero3 = next(line for line in out.splitlines() if line.startswith('ZeRO-3 '))
    assert ddp.endswith('no') and zero3.endswith('yes')  # 6B + AdamW does not fit 80 GB without sharding


def test_memory_plan_tool_counts_the_text_tower_of_internvl_pretraining():
    """Stage 1 trains InternViT-6B and the QLLaMA text tower: both towers' activations are planned."""
    config = 'configs/pretraining/internvl-c_internvit-6b-qllama-8b_stage1-196px_640xb256.py'
    out = run_tool('analysis/memory_plan.py', config, '--gpus', '8', '--gpu-mem', '80').stdout
    assert 'activations per GPU (image and text towers (80 caption tokens)' in out
    saved, with_cp = (float(x) for x in re.search(r'towers.*\): ([\d.]+) GiB, ([\d.]+) GiB', out).groups())
    assert 0 < with_cp < saved / 5


@pytest.mark.parametrize('config, trainable', [
    ('configs/segmentation/upernet-lora_internvit-6b-224px_8xb2-80k_ade20k-504x504.py', '519.17M'),
    ('configs/detection/mask-rcnn_internvit-6b-224px-lora_simplefpn-8xb8-lsj-100e_coco.py', '109.47M'),
])
def test_memory_plan_tool_compares_lora_with_full_tuning(config, trainable):
    out = run_tool('analysis/memory_plan.py', config, '--gpus', '1', '--gpu-mem', '24').stdout
    assert f'adapters vs full tuning: {trainable} vs' in out
    rows = [line for line in out.splitlines() if line.startswith(('1 x 24 GiB', '1 x 80 GiB', '8 x 80 GiB'))]
    assert len(rows) == 6
    on_80 = next(line for line in rows if line.startswith('1 x 80 GiB') and ' on ' in line)
    # one 80 GB GPU: LoRA trains in plain DDP (frozen base in bf16), full tuning only with CPU offload
    adapters, full = on_80.split('fits')[:2]
    assert 'DDP' in adapters and 'offload' in full
    if 'segmentation' in config:  # the 6B UperNet LoRA step fits one 24 GB GPU without offload
        ddp = next(line for line in out.splitlines() if line.startswith('DDP'))
        assert ddp.endswith('yes')

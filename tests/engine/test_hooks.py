"""TrainableEMAHook, RandomStateHook, PeakMemoryHook and ITMHardNegativeCurriculumHook on a minimal runner stand-in."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn

from internvl_mm.engine.hooks import ITMHardNegativeCurriculumHook, PeakMemoryHook, RandomStateHook, TrainableEMAHook


def _model():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[0].requires_grad_(False)  # a frozen "backbone"
    return model


def test_ema_tracks_only_trainable_tensors_and_swaps_for_evaluation():
    model = _model()
    runner = SimpleNamespace(model=model, _resume=False)
    hook = TrainableEMAHook(momentum=0.5)
    hook.before_run(runner)
    assert set(hook._shadow) == {'1.weight', '1.bias', '1.running_mean', '1.running_var', '2.weight', '2.bias'}
    start = model[2].weight.detach().clone()
    hook.after_train_iter(runner, 0)
    with torch.no_grad():
        model[2].weight.add_(2.0)
    hook.after_train_iter(runner, 1)
    assert torch.allclose(hook._shadow['2.weight'], start + 1.0)
    hook.before_val_epoch(runner)
    assert torch.allclose(model[2].weight, start + 1.0)  # EMA weights while evaluating
    hook.after_val_epoch(runner)
    assert torch.allclose(model[2].weight, start + 2.0)


def test_ema_checkpoint_holds_ema_weights_and_resumes_raw_ones():
    model = _model()
    runner = SimpleNamespace(model=model, _resume=True)
    hook = TrainableEMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.after_train_iter(runner, 0)
    with torch.no_grad():
        model[2].weight.add_(2.0)
    hook.after_train_iter(runner, 1)
    checkpoint = dict(state_dict={k: v.clone() for k, v in model.state_dict().items()}, meta={})
    hook.before_save_checkpoint(runner, checkpoint)
    assert torch.allclose(checkpoint['state_dict']['2.weight'], hook._shadow['2.weight'])
    assert torch.allclose(checkpoint['ema_state_dict']['2.weight'], model[2].weight)
    assert '0.weight' not in checkpoint['ema_state_dict']

    resumed = TrainableEMAHook(momentum=0.5)
    resumed.before_run(SimpleNamespace(model=_model()))
    resumed.after_load_checkpoint(runner, checkpoint)
    assert torch.allclose(checkpoint['state_dict']['2.weight'], model[2].weight)  # raw weights go to the model
    assert torch.allclose(resumed._shadow['2.weight'], hook._shadow['2.weight']) and resumed._steps == 2


def test_random_state_round_trip():
    hook, checkpoint = RandomStateHook(), {}
    hook.before_save_checkpoint(None, checkpoint)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    hook.after_load_checkpoint(SimpleNamespace(_resume=True), checkpoint)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_peak_memory_hook_logs_the_process_peak_and_sees_a_large_allocation():
    """In a fresh process whose parent (this test process) has a far larger peak: the reading must be the child's
    own (a peak inherited through exec, as ``ru_maxrss`` is, would hide the allocation)."""
    import subprocess
    import sys

    import pytest
    if torch.cuda.is_available():
        pytest.skip('mmengine logs the CUDA peak itself; the hook stays quiet there')
    ballast = torch.ones(1536, 2 ** 20 // 4)  # 1.5 GiB touched in the parent
    script = """
from types import SimpleNamespace
import torch
from mmengine.logging import MessageHub
from internvl_mm.engine.hooks import PeakMemoryHook
hub = MessageHub.get_instance('peak')
runner = SimpleNamespace(message_hub=hub)
hook = PeakMemoryHook()
hook.after_train_iter(runner, 0)
before = hub.get_scalar('train/peak_rss_mb').current()
block = torch.ones(512, 2 ** 20 // 4)  # 512 MiB of fp32, touched
hook.after_train_iter(runner, 1)
print(before, hub.get_scalar('train/peak_rss_mb').current())
"""
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True)
    del ballast
    before, after = map(float, out.stdout.split()[-2:])
    assert before < 1500, before
    assert 400 < after - before < 700, (before, after)


def test_itm_curriculum_ramps_hardness_with_the_runner_iteration_and_ends_at_the_papers_recipe():
    model = SimpleNamespace(itm_negative_hardness=1.0)
    runner = SimpleNamespace(model=model, iter=0)
    hook = ITMHardNegativeCurriculumHook(warmup_iters=100)
    hook.before_run(runner)
    seen = []
    for iteration in (0, 50, 100, 150):  # a resumed run continues from its iteration, not from 0
        runner.iter = iteration
        hook.before_train_iter(runner, iteration)
        seen.append(model.itm_negative_hardness)
    assert seen == [0.0, 0.5, 1.0, 1.0]
    hook.after_train(runner)
    assert model.itm_negative_hardness == 1.0


def test_itm_curriculum_refuses_a_model_without_itm_and_bad_settings():
    with pytest.raises(ValueError, match='has none: remove the hook'):
        ITMHardNegativeCurriculumHook(10).before_run(SimpleNamespace(model=nn.Linear(2, 2)))
    for bad in (dict(warmup_iters=0), dict(warmup_iters=10, start=2.0)):
        with pytest.raises(ValueError, match='ITMHardNegativeCurriculumHook'):
            ITMHardNegativeCurriculumHook(**bad)

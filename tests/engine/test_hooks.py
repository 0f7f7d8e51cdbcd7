"""TrainableEMAHook and RandomStateHook on a minimal runner stand-in."""
import random
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn

from internvl_mm.engine.hooks import RandomStateHook, TrainableEMAHook


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

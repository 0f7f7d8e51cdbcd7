"""Shared test helpers: InternViT weights in each official release layout, and running the tools."""
import glob
import json
import os
import re
import subprocess
import sys
from typing import Dict

import torch

from internvl_mm.models import InternViT
from internvl_mm.models.backbones import to_release_state_dict


def to_hf_layout(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """InternViT parameter names -> the Hugging Face InternViT release layout (the adapter's inverse map)."""
    return to_release_state_dict(state_dict)


def random_internvit(arch='tiny', **kwargs) -> InternViT:
    """An InternViT with random (non-trivial) weights, including norms and layer scales."""
    model = InternViT(arch, **kwargs)
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(('norm1.weight', 'norm2.weight', 'q_norm.weight', 'k_norm.weight', 'gamma')):
                p.uniform_(0.5, 1.5)
            elif name.endswith('bias'):
                p.normal_(0, 0.02)
    return model.eval()


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


# -- running the tools ----------------------------------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS_ROOT = os.path.join(ROOT, 'configs')
DEMO_CONFIGS = os.path.join(ROOT, 'projects', 'shapes_demo', 'configs')
FAST_LOADERS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def run_tool(tool: str, *args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>`` in a subprocess, as a user would; fail with its output when it fails unexpectedly."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', tool), *args], capture_output=True,
                            text=True, timeout=timeout, cwd=ROOT, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f'{tool} {" ".join(args)} failed ({result.returncode}):\n'
                             f'{result.stdout[-3000:]}\n{result.stderr[-6000:]}')
    return result


def tool_error_line(result: subprocess.CompletedProcess) -> str:
    """The one-line error a tool ends with: exit status 1, no traceback; returns that last line."""
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert 'Traceback' not in result.stderr
    return lines[-1]


def last_scalars(work_dir: str) -> dict:
    """The last logged value of every scalar in a run's vis_data/scalars.json."""
    values = {}
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                values.update(json.loads(line))
    return values


def torchrun_succeeded(result: subprocess.CompletedProcess) -> bool:
    """Whether a ``torchrun`` of CPU ranks did its work. A rank may abort *after* finishing, in gloo's thread
    teardown at interpreter exit ("terminate called without an active exception", exit -6, seen about once in
    forty runs on 2 busy cores); that counts as done when no rank raised. The callers still check every output."""
    if result.returncode == 0:
        return True
    teardown_abort = 'terminate called without an active exception' in result.stderr
    rank_raised = re.search(r'\[rank\d+\]:.*(Error|Exception)', result.stderr) or 'train: error' in result.stderr
    return teardown_abort and not rank_raised

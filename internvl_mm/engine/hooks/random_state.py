"""Exact resume: the main process's random number generators travel with each checkpoint.

mmengine re-seeds on resume, so augmentations drawn in the main process (``num_workers=0``), dropout and drop path
would continue from the seed instead of from where the interrupted run stood, and a resumed run would end with
different metrics. This hook saves the Python, NumPy and torch generator states into every checkpoint and restores
them on resume. (Dataloader workers are re-seeded by mmengine at every epoch, so they need nothing.)
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from internvl_mm.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        checkpoint['random_state'] = dict(
            python=random.getstate(), numpy=(kind, keys, pos, has_gauss, gauss), torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('random_state')
        if state is None or not runner._resume:
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if state['cuda'] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])

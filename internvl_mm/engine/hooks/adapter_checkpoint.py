"""Checkpoints of adapter-tuned models hold the adapters and the head, not the frozen base.

For every InternViT with ``adapter`` in the model, the frozen base weights are dropped from the checkpoint's
``state_dict`` and replaced by a pointer to the weights they came from (``init_cfg``'s path or ``zoo://`` name, key
prefix and SHA-256), which InternViT's load pre-hook follows on every load path (resume, ``load_from``,
``tools/test.py``, the toolboxes' ``init_model``). A backbone whose base weights were not loaded from a checkpoint
(random init) keeps them: nothing is dropped that could not be found again.

Registered in every config through ``default_hooks`` (``configs/_base_/default_runtime.py``); it does nothing for
models without adapters. DeepSpeed keeps weights in its own engine files and is left as it is.
"""
import os.path as osp
from typing import Dict, List

from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from internvl_mm.engine.optimizers.layer_decay import clean_name
from internvl_mm.models import adapters
from internvl_mm.models.backbones.intern_vit import find_internvit
from internvl_mm.registry import HOOKS
from internvl_mm.weights import source_digest


@HOOKS.register_module()
class AdapterCheckpointHook(Hook):
    """Drop frozen base weights of adapter-tuned InternViTs from checkpoints, keeping a verified pointer."""
    priority = 'LOW'  # after hooks that swap weights into the checkpoint (EMA)

    def __init__(self):
        self._pointers: Dict[str, dict] = {}  # key prefix -> base pointer, once digested

    def before_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        for prefix, vit in find_internvit(model):  # names without FSDP's / checkpointing's wrapper segments
            prefix = clean_name(prefix)
            if not vit.adapter:
                continue
            base = vit.adapter_base()
            if base is None:
                MMLogger.get_current_instance().warning(
                    f'{prefix or "the model"}: adapters on a backbone without init_cfg weights; its checkpoints '
                    f'keep the full base weights')
                continue
            if '://' not in base['source']:  # a local path, valid from any working directory
                base['source'] = osp.abspath(base['source'])
            # SHA-256 of the base now, not at the first save: a 6B base takes a while to hash.
            self._pointers[prefix] = dict(base, sha256=source_digest(base['source']),
                                          keys=adapters.base_weight_keys(
                {clean_name(k): p for k, p in vit.named_parameters()}))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('state_dict')
        if not self._pointers or state is None:
            return
        dropped: List[str] = []
        for prefix, pointer in self._pointers.items():
            for key in pointer['keys']:
                if state.pop(prefix + key, None) is not None:
                    dropped.append(key)
            state[prefix + adapters.BASE_POINTER_KEY] = adapters.encode_base_pointer(
                pointer['source'], pointer['prefix'], pointer['sha256'])
        checkpoint.setdefault('meta', {})['adapter_base'] = {
            prefix: dict(source=p['source'], prefix=p['prefix'], sha256=p['sha256'])
            for prefix, p in self._pointers.items()}
        runner.logger.debug(f'AdapterCheckpointHook: {len(dropped)} frozen base tensors left out of the checkpoint')

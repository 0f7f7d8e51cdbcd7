"""Layer-wise learning-rate decay for any model that contains an InternViT, in every toolbox.

mmpretrain's constructor needs a model-level ``get_layer_depth`` and mmseg's / mmdet's accept only their own
backbone names; this one finds the InternViT modules inside any model (classifier, segmentor, detector, InternVL
pretrainer), so the same ``paramwise_cfg`` works everywhere:

    optim_wrapper = dict(constructor='LayerDecayOptimWrapperConstructor',
                         paramwise_cfg=dict(layer_decay_rate=0.95, custom_keys={'qllama': dict(lr_mult=0.1)}))

A parameter in block ``i`` of a backbone with ``L`` blocks gets ``lr * rate ** (L + 1 - (i + 1))``; the embeddings
``rate ** (L + 1)``; everything outside the backbone (necks, heads) the full rate. 1-D parameters (norms, biases,
layer scales), the position embedding and the cls token get no weight decay. Frozen parameters
(``requires_grad=False``) are left out entirely, so optimizers and ZeRO partitions never hold them. Parameters
that share (lr, weight decay) share one group, which keeps DeepSpeed's per-group buffers few.
"""
import re
from collections import OrderedDict
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from internvl_mm.errors import ConfigError
from internvl_mm.models.backbones.intern_vit import find_internvit
from internvl_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

NO_DECAY_NAMES = ('pos_embed', 'cls_token', 'query_tokens', 'logit_scale', 'gamma')
WRAPPER_SEGMENTS = re.compile(r'(^|(?<=\.))(_fsdp_wrapped_module|_checkpoint_wrapped_module)\.|^module\.')


def clean_name(name: str) -> str:
    """A parameter or module name without the segments FSDP / checkpoint / DDP wrappers insert."""
    return WRAPPER_SEGMENTS.sub('', name)


def decays(name: str, owner: nn.Module) -> bool:
    """Weight decay applies to weights of linear / conv / embedding layers: not to biases, norms, layer scales,
    position embeddings, learned tokens or DoRA's magnitudes (a norm-like per-channel scale)."""
    leaf = name.rsplit('.', 1)[-1]
    return not (leaf.endswith('bias') or leaf in NO_DECAY_NAMES or 'norm' in type(owner).__name__.lower()
                or '.lora_magnitude_vector.' in name)


def _named_parameters_with_owner(model: nn.Module):
    """(clean name, owning module, parameter), each parameter once."""
    seen = set()
    for module_name, owner in model.named_modules():
        for leaf, param in owner.named_parameters(recurse=False):
            if id(param) not in seen:
                seen.add(id(param))
                yield clean_name(f'{module_name}.{leaf}' if module_name else leaf), owner, param


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg``: ``layer_decay_rate`` (default 1.0) and mmengine-style ``custom_keys`` (``lr_mult``,
    ``decay_mult``), which multiply on top of the layer scale.

Which parameters decay is decided from names and owning modules, not from tensor shapes: under FSDP
(``use_orig_params``) a parameter is a flat, possibly empty, view whose shape says nothing."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        # mmengine only calls add_params when paramwise_cfg is non-empty; ours must always run (frozen parameters
        # out, no decay on norms), so an empty one means "no layer decay".
        super().__init__(optim_wrapper_cfg, paramwise_cfg or dict(layer_decay_rate=1.0))

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        rate = self.paramwise_cfg.get('layer_decay_rate', 1.0)
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        providers = [(clean_name(prefix), vit) for prefix, vit in find_internvit(module)]
        if not providers and rate != 1.0:
            raise ConfigError('layer_decay_rate is set but the model contains no InternViT')
        groups: 'OrderedDict[Tuple[float, float], dict]' = OrderedDict()
        for name, owner, param in _named_parameters_with_owner(module):
            if not param.requires_grad:
                continue
            scale = 1.0
            for backbone_prefix, backbone in providers:
                if name.startswith(backbone_prefix):
                    depth, num_layers = backbone.get_layer_depth(name, backbone_prefix)
                    scale = rate**(num_layers - 1 - depth)
                    break
            lr_mult, decay_mult = 1.0, 1.0
            for key in sorted(custom_keys, key=len, reverse=True):
                if key in name:
                    lr_mult = custom_keys[key].get('lr_mult', 1.0)
                    decay_mult = custom_keys[key].get('decay_mult', 1.0)
                    break
            lr = self.base_lr * scale * lr_mult
            weight_decay = (self.base_wd or 0.0) * decay_mult if decays(name, owner) else 0.0
            group = groups.setdefault((lr, weight_decay), dict(params=[], lr=lr, weight_decay=weight_decay,
                                                              param_names=[]))
            group['params'].append(param)
            group['param_names'].append(name)
        params.extend(groups.values())
        if prefix == '':
            logger = MMLogger.get_current_instance()
            tensors = [p for g in groups.values() for p in g['params']]
            logger.info(f'LayerDecayOptimWrapperConstructor: {len(groups)} parameter groups, layer decay {rate}, '
                        f'{len(tensors)} trainable tensors ({sum(p.numel() for p in tensors)} parameters)')
            for (lr, wd), group in groups.items():
                logger.debug(f'  lr={lr:.3g} wd={wd:g}: {len(group["params"])} tensors, e.g. '
                             f'{group["param_names"][0]}')

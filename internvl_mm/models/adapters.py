"""Parameter-efficient tuning of InternViT (LoRA, DoRA) through Hugging Face ``peft``.

``peft`` does the adapter math, injection and merging; this module only turns an OpenMMLab config dict into a
``peft.LoraConfig`` for InternViT's linear layers, and keeps the key bookkeeping that checkpoints need:

- ``peft`` renames a wrapped layer's own weight ``qkv.weight`` -> ``qkv.base_layer.weight``; :func:`base_name` and
  :func:`adapter_layout_keys` translate between the two, so base checkpoints load into an adapted model.
- An adapter checkpoint holds the adapters (and the task head) only. In place of the frozen base weights it stores
  :data:`BASE_POINTER_KEY`: a small uint8 tensor with the base's source (path or ``zoo://`` name), key prefix and
  SHA-256 digest, from which any load path refills the base (see ``InternViT``'s load pre-hook).
"""
import json
import re
from typing import Dict, Iterable, List, Optional

import torch
import torch.nn as nn

from internvl_mm.errors import ConfigError

# The linear layers of an InternViT block that adapters can target (module paths inside ``blocks.N``).
TARGETS = {'qkv': 'attn.qkv', 'proj': 'attn.proj', 'fc1': 'mlp.fc1', 'fc2': 'mlp.fc2'}
METHODS = ('LoRA', 'DoRA')
ADAPTER_NAME = 'default'
BASE_LAYER = '.base_layer.'
# Parameter-name fragments of peft's LoRA / DoRA tensors.
ADAPTER_PARAM_MARKERS = ('.lora_A.', '.lora_B.', '.lora_magnitude_vector.')
# The state-dict entry that stands for the frozen base weights in an adapter checkpoint.
BASE_POINTER_KEY = 'adapter_base'


def build_adapter_config(adapter: dict, num_layers: int):
    """``dict(type='LoRA'|'DoRA', rank, alpha, dropout, targets, blocks)`` -> ``peft.LoraConfig`` for an InternViT
    with ``num_layers`` blocks. ``blocks``: indices (negative from the end) or None for all."""
    from peft import LoraConfig
    spec = dict(adapter)
    method = spec.pop('type', 'LoRA')
    if method not in METHODS:
        raise ConfigError(f'adapter type {method!r} is not one of {METHODS}')
    rank, alpha = int(spec.pop('rank', 16)), float(spec.pop('alpha', 16))
    dropout = float(spec.pop('dropout', 0.0))
    targets = tuple(spec.pop('targets', tuple(TARGETS)))
    blocks = spec.pop('blocks', None)
    if spec:
        raise ConfigError(f'unknown adapter options {sorted(spec)}; known: type, rank, alpha, dropout, targets, '
                          f'blocks')
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise ConfigError(f'adapter targets {unknown or "(none)"} not in {tuple(TARGETS)}')
    if rank < 1:
        raise ConfigError(f'adapter rank must be >= 1, got {rank}')
    indices = range(num_layers) if blocks is None else list(blocks)
    bad = [i for i in indices if not -num_layers <= i < num_layers]
    if bad:
        raise ConfigError(f'adapter blocks {bad} out of range for {num_layers} blocks')
    indices = sorted({i % num_layers for i in indices})
    pattern = (r'blocks\.(' + '|'.join(map(str, indices)) + r')\.('
               + '|'.join(re.escape(TARGETS[t]) for t in targets) + ')')
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=pattern,
                      use_dora=method == 'DoRA', bias='none')


def inject_adapters(module: nn.Module, adapter: dict, num_layers: int) -> None:
    """Wrap the targeted linears of ``module`` (an InternViT) with adapters; every other parameter of ``module``
    is frozen (peft's rule), so only the adapters (and whatever lies outside ``module``, e.g. a head) train."""
    from peft import inject_adapter_in_model
    inject_adapter_in_model(build_adapter_config(adapter, num_layers), module, adapter_name=ADAPTER_NAME)


def adapter_layers(module: nn.Module) -> List[nn.Module]:
    """peft's adapter-wrapped layers inside ``module``."""
    from peft.tuners.lora import LoraLayer
    return [m for m in module.modules() if isinstance(m, LoraLayer)]


@torch.no_grad()
def reset_adapters(module: nn.Module) -> None:
    """Give the adapters their initial values again (LoRA: A random, B zero, so the adapted model equals the
    base; DoRA: the magnitude set to the *current* base weights' norms). Called after the base weights are
    (re)initialised or loaded, which a DoRA magnitude computed at injection would not know of."""
    for layer in adapter_layers(module):
        for name in list(layer.lora_A):
            layer.reset_lora_parameters(name, True)
            if layer.use_dora.get(name):
                layer.lora_magnitude_vector[name].update_layer(
                    base_layer=layer.get_base_layer(), lora_A=layer.lora_A[name].weight,
                    lora_B=layer.lora_B[name].weight, scaling=layer.scaling[name])


@torch.no_grad()
def merge_adapters(module: nn.Module) -> int:
    """Fold every adapter into its base weight and put the plain linear back (peft's merge): the model then has
    the layout and outputs of an unadapted one. Returns the number of layers merged."""
    layers = adapter_layers(module)
    wrapped = {id(layer) for layer in layers}
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if id(child) in wrapped:
                child.merge()
                setattr(parent, child_name, child.get_base_layer())
    return len(layers)


def is_adapter_key(key: str) -> bool:
    """Whether a state-dict key is an adapter tensor (LoRA A/B, DoRA magnitude)."""
    return any(marker in key for marker in ADAPTER_PARAM_MARKERS)


def base_name(key: str) -> str:
    """The name a wrapped layer's base tensor has without adapters: ``...qkv.base_layer.weight`` -> ``...qkv.weight``."""
    return key.replace(BASE_LAYER, '.')


def adapter_layout_keys(state_dict: dict, prefix: str, own_keys: Iterable[str]) -> None:
    """Rename base-layout keys under ``prefix`` to the adapted model's ``base_layer`` names, in place."""
    for own in own_keys:
        if BASE_LAYER in own:
            plain = prefix + base_name(own)
            if plain in state_dict and prefix + own not in state_dict:
                state_dict[prefix + own] = state_dict.pop(plain)


def base_weight_keys(named_params: Dict[str, nn.Parameter]) -> List[str]:
    """The frozen, non-adapter keys: what an adapter checkpoint leaves out and refills from its base."""
    return [k for k, p in named_params.items() if not is_adapter_key(k) and not p.requires_grad]


def encode_base_pointer(source: str, prefix: Optional[str], digest: str) -> torch.Tensor:
    """The base weights' identity as a uint8 tensor (a state dict holds only tensors)."""
    text = json.dumps(dict(source=source, prefix=prefix or '', sha256=digest), sort_keys=True)
    return torch.tensor(list(text.encode('utf-8')), dtype=torch.uint8)


def decode_base_pointer(value: torch.Tensor) -> dict:
    """Inverse of :func:`encode_base_pointer`: ``{'source', 'prefix', 'sha256'}``."""
    return json.loads(bytes(value.tolist()).decode('utf-8'))


"""InternViT's checkpoint adapter: the official key layouts <-> InternViT's parameter names, and the tensors that a
checkpoint for another input or patch size needs resized. Pure functions over keys and tensors (the model knows
nothing of where weights come from); :class:`InternViT` runs :func:`adapt_state_dict` as its load-state-dict
pre-hook, so every loading path (``init_cfg``, ``load_from``, ``load_state_dict``, the tools) goes through it.

Layouts read: Hugging Face releases (``embeddings.*``, ``encoder.layers.N.*``), the timm-style ``.pth`` releases
(InternViT's own names: ``cls_token``, ``blocks.N.ls1.gamma``, ...), behind a ``vision_model.`` (chat models,
InternVL-C/G) or ``module.`` (DDP) prefix. :func:`to_release_key` is the inverse, for exports.
"""
import math
import re
from typing import Dict, Iterable, Optional, Tuple

import torch
from mmengine.logging import MMLogger
from timm.layers import resample_abs_pos_embed, resample_patch_embed

from internvl_mm.errors import CheckpointError
from internvl_mm.weights import materialize

# (Hugging Face release name, InternViT name). {n}: a block index, {p}: weight or bias, {rest}: the rest of the key.
# Order matters: the first pattern that matches wins (the layer scales before the generic block rule).
KEY_TABLE = (
    ('embeddings.class_embedding', 'cls_token'),
    ('embeddings.position_embedding', 'pos_embed'),
    ('embeddings.patch_embedding.{p}', 'patch_embed.proj.{p}'),
    ('encoder.layers.{n}.ls1', 'blocks.{n}.ls1.gamma'),
    ('encoder.layers.{n}.ls2', 'blocks.{n}.ls2.gamma'),
    ('encoder.layers.{n}.{rest}', 'blocks.{n}.{rest}'),
)
WRAPPER_PREFIXES = ('module.', 'vision_model.')
_FIELDS = {'n': r'(?P<n>\d+)', 'p': r'(?P<p>weight|bias)', 'rest': r'(?P<rest>.+)'}


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r'\{(\w+)\}', template)  # literal, field, literal, field, ...
    return re.compile('^' + ''.join(_FIELDS[part] if i % 2 else re.escape(part) for i, part in enumerate(parts))
                      + '$')


# Both directions derived from the one table.
_TO_INTERNAL = tuple((_pattern(release), internal) for release, internal in KEY_TABLE)
_TO_RELEASE = tuple((_pattern(internal), release) for release, internal in KEY_TABLE)
_INTERNAL_KEY = tuple(pattern for pattern, _ in _TO_RELEASE)


def _rename(key: str, rules) -> Optional[str]:
    for pattern, template in rules:
        match = pattern.match(key)
        if match:
            return template.format(**match.groupdict())
    return None


def convert_checkpoint_key(key: str) -> Optional[str]:
    """A key of any official InternViT layout -> InternViT's parameter name, or ``None`` if it is not a ViT key
    (``clip_projector.*``, ``mlp1.*``, ``language_model.*``, ...)."""
    for prefix in WRAPPER_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    if any(pattern.match(key) for pattern in _INTERNAL_KEY):
        return key
    return _rename(key, _TO_INTERNAL)


def to_release_key(name: str) -> str:
    """InternViT's parameter name -> its Hugging Face release name (the inverse of :func:`convert_checkpoint_key`);
    other names pass through."""
    return _rename(name, _TO_RELEASE) or name


def to_release_state_dict(state_dict: Dict[str, torch.Tensor], prefix: str = '') -> Dict[str, torch.Tensor]:
    """The keys under ``prefix`` renamed to the release layout (order kept); other keys unchanged."""
    return {prefix + to_release_key(k[len(prefix):]) if k.startswith(prefix) else k: v for k, v in state_dict.items()}


def resize_pos_embed(pos_embed: torch.Tensor, src_grid: Tuple[int, int], dst_grid: Tuple[int, int]) -> torch.Tensor:
    """Resize the patch part of a (1, 1 + h*w, C) position embedding bicubically; the cls position is kept.

    timm's resampling without antialiasing: the official InternViT's ``F.interpolate(..., mode='bicubic',
    align_corners=False)`` in fp32, to the same result (checked in the tests)."""
    return resample_abs_pos_embed(pos_embed, list(dst_grid), list(src_grid), num_prefix_tokens=1,
                                  interpolation='bicubic', antialias=False)


def num_blocks(keys: Iterable[str]) -> int:
    """The depth of a checkpoint in InternViT names (highest block index + 1; 0 without blocks)."""
    ids = {int(m.group(1)) for k in keys if (m := re.match(r'blocks\.(\d+)\.', k))}
    return max(ids) + 1 if ids else 0


def adapt_tensor(name: str, value, shape: torch.Size, source: str = 'checkpoint'):
    """A checkpoint value for InternViT parameter ``name`` made to fit ``shape`` where InternViT allows it: the
    position embedding of another grid (bicubic), a patch kernel of another size (timm's FlexiViT resampling,
    which keeps every patch's embedding for an upsampled kernel). Anything else is returned as it is."""
    have = tuple(value.shape)
    if have == tuple(shape):
        return value
    logger = MMLogger.get_current_instance()
    if name == 'pos_embed':
        n, side = have[1] - 1, math.isqrt(have[1] - 1)
        dst = math.isqrt(shape[1] - 1)
        if len(have) != 3 or side * side != n or have[-1] != shape[-1] or dst * dst != shape[1] - 1:
            raise CheckpointError(f'{source}: position embedding {have} does not fit {tuple(shape)} (expected 1 + a '
                                  f'square grid, {shape[-1]} channels)')
        logger.info(f'Resizing the position embedding from a {side}x{side} to a {dst}x{dst} grid')
        return resize_pos_embed(materialize(value), (side, side), (dst, dst))
    if name == 'patch_embed.proj.weight' and have[:2] == tuple(shape[:2]) and len(have) == 4:
        logger.info(f'Resizing the patch kernel {have[-2:]} -> {tuple(shape[-2:])}')
        tensor = materialize(value)
        return resample_patch_embed(tensor.float(), list(shape[-2:]), antialias=False).to(tensor.dtype)
    return value


def adapt_state_dict(state_dict: dict, prefix: str, own_shapes: Dict[str, torch.Size], source: str = 'checkpoint'):
    """Rename the InternViT keys under ``prefix`` to parameter names and resize what :func:`adapt_tensor` resizes,
    in place. Keys that are not ViT keys are left alone (a strict load reports them). A checkpoint of another depth
    is refused with the fix, before any tensor is read."""
    mapped = {}
    for key in [k for k in state_dict if k.startswith(prefix)]:
        name = convert_checkpoint_key(key[len(prefix):])
        if name is not None:
            mapped[name] = state_dict.pop(key)
    depth, own_depth = num_blocks(mapped), num_blocks(own_shapes)
    if depth and depth != own_depth:
        raise CheckpointError(f'{source} has {depth} blocks but this InternViT has {own_depth}; choose the arch that '
                              f'matches the release (6B-224px: 48 blocks, 6B-448px V1.2+: 45, 300M: 24).')
    for name, value in mapped.items():
        state_dict[prefix + name] = adapt_tensor(name, value, own_shapes[name], source) if name in own_shapes \
            else value

"""An independent implementation of the same architecture with the same weights: transformers'
``InternVLVisionModel``, built from an :class:`InternViT` without allocating twice (meta device, then the mapped
weights are assigned)."""
import re
from typing import Dict

import torch

from internvl_mm.models.backbones.intern_vit import InternViT

ATTENTION_IMPLEMENTATIONS = ('sdpa', 'eager')


def to_transformers_layout(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """internvl_mm keys -> transformers' InternVLVisionModel keys (q/k/v split out of the fused qkv).

    Works for gradients too (any dict keyed by parameter name), which is how the benchmark compares train steps.
    """
    out = {}
    for key, value in state_dict.items():
        m = re.match(r'blocks\.(\d+)\.(.+)$', key)
        if key == 'cls_token':
            out['embeddings.cls_token'] = value
        elif key == 'pos_embed':
            out['embeddings.position_embeddings'] = value
        elif key.startswith('patch_embed.proj.'):
            out['embeddings.patch_embeddings.projection.' + key.split('.')[-1]] = value
        elif m:
            i, rest = m.groups()
            prefix = f'encoder.layer.{i}.'
            if rest.startswith('attn.qkv.'):
                for name, part in zip(('q_proj', 'k_proj', 'v_proj'), value.chunk(3, dim=0)):
                    out[prefix + f'attention.{name}.' + rest.split('.')[-1]] = part
            else:
                rest = (rest.replace('attn.proj', 'attention.projection_layer').replace('attn.', 'attention.')
                        .replace('norm1', 'layernorm_before').replace('norm2', 'layernorm_after')
                        .replace('ls1.gamma', 'lambda_1').replace('ls2.gamma', 'lambda_2'))
                out[prefix + rest] = value
    return out


def transformers_reference(model: InternViT, attn_implementation: str = 'sdpa'):
    """``InternVLVisionModel`` with ``model``'s architecture and a copy of its weights (same device and dtype).

    Only the global-attention InternViT has a transformers counterpart (no window attention); the position
    embedding is taken at the model's ``img_size``.
    """
    from transformers import InternVLVisionConfig, InternVLVisionModel
    if attn_implementation not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(f'attention implementation must be one of {ATTENTION_IMPLEMENTATIONS}, '
                         f'got {attn_implementation!r}')
    if any(b.attn.window_size for b in model.blocks):
        raise ValueError('transformers has no window attention: the reference needs a global-attention InternViT')
    spec = model.arch
    config = InternVLVisionConfig(
        hidden_size=spec['embed_dims'], num_hidden_layers=len(model.blocks), num_attention_heads=spec['num_heads'],
        intermediate_size=spec['feedforward_channels'], norm_type=spec['norm_type'],
        use_qk_norm=spec['qk_normalization'], attention_bias=spec['qkv_bias'], image_size=model.img_size,
        patch_size=model.patch_size, layer_norm_eps=spec['norm_eps'],
        layer_scale_init_value=spec['layer_scale_init_value'], hidden_act='gelu', use_mask_token=False,
        attn_implementation=attn_implementation)
    with torch.device('meta'):
        ref = InternVLVisionModel(config)
    weights = {k: v.detach().clone() for k, v in to_transformers_layout(model.state_dict()).items()}
    missing, unexpected = ref.load_state_dict(weights, strict=False, assign=True)
    if missing or unexpected:
        raise RuntimeError(f'weight mapping to transformers is incomplete: missing {missing}, unexpected '
                           f'{unexpected}')
    leftover = [n for n, t in [*ref.named_parameters(), *ref.named_buffers()] if t.is_meta]
    if leftover:
        raise RuntimeError(f'transformers reference tensors left unset: {leftover}')
    for p in ref.parameters():
        p.requires_grad_(True)
    return ref.train(model.training)

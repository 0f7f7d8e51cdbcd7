"""Shared test helpers: writing InternViT weights in each official release layout."""
import re
from typing import Dict

import torch

from internvl_mm.models import InternViT


def to_hf_layout(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """internvl_mm / timm-style keys -> the Hugging Face InternViT release layout (inverse of the loader's map)."""
    out = {}
    for key, value in state_dict.items():
        key = (key.replace('cls_token', 'embeddings.class_embedding')
                  .replace('pos_embed', 'embeddings.position_embedding')
                  .replace('patch_embed.proj', 'embeddings.patch_embedding'))
        key = re.sub(r'^blocks\.(\d+)\.(ls[12])\.gamma$', r'encoder.layers.\1.\2', key)
        key = re.sub(r'^blocks\.', 'encoder.layers.', key)
        out[key] = value
    return out


def to_transformers_layout(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """internvl_mm keys -> transformers' InternVLVisionModel keys (q/k/v split out of the fused qkv)."""
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
            p = f'encoder.layer.{i}.'
            if rest.startswith('attn.qkv.'):
                for name, part in zip(('q_proj', 'k_proj', 'v_proj'), value.chunk(3, dim=0)):
                    out[p + f'attention.{name}.' + rest.split('.')[-1]] = part
            else:
                rest = (rest.replace('attn.proj', 'attention.projection_layer').replace('attn.', 'attention.')
                        .replace('norm1', 'layernorm_before').replace('norm2', 'layernorm_after')
                        .replace('ls1.gamma', 'lambda_1').replace('ls2.gamma', 'lambda_2'))
                out[p + rest] = value
    return out


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

"""Attention pooling: one query (the mean token) attends over all tokens. Used by the attention-pooling probe and,
with ``out_dim=768``, as InternVL-C/G's ``clip_projector`` (its parameter names follow the official checkpoints:
``norm1_{q,k,v}``, ``cross_attn.{q,k,v}``, ``cross_attn.{q,k,v}_bias``, ``cross_attn.proj``)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class PoolingCrossAttention(nn.Module):
    """Multi-head cross-attention with bias-free q/k/v projections plus separate (zero-initialised) biases."""

    def __init__(self, dim: int, num_heads: int, out_dim: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.k_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.k_bias = self.v_bias = None
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        B, Nq, C = q.shape
        heads = self.num_heads
        q = F.linear(q, self.q.weight, self.q_bias).view(B, Nq, heads, -1).transpose(1, 2)
        k = F.linear(k, self.k.weight, self.k_bias).view(B, k.shape[1], heads, -1).transpose(1, 2)
        v = F.linear(v, self.v.weight, self.v_bias).view(B, v.shape[1], heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(B, Nq, C))


class AttentionPooling(nn.Module):
    """(B, N, dim) tokens -> (B, out_dim): the mean token queries all tokens (cls included) after LayerNorms."""

    def __init__(self, dim: int, num_heads: int, out_dim: Optional[int] = None, qkv_bias: bool = True,
                 norm_eps: float = 1e-5):
        super().__init__()
        self.norm1_q = nn.LayerNorm(dim, eps=norm_eps)
        self.norm1_k = nn.LayerNorm(dim, eps=norm_eps)
        self.norm1_v = nn.LayerNorm(dim, eps=norm_eps)
        self.cross_attn = PoolingCrossAttention(dim, num_heads, out_dim or dim, qkv_bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        query = tokens.mean(dim=1, keepdim=True)
        return self.cross_attn(self.norm1_q(query), self.norm1_k(tokens), self.norm1_v(tokens)).squeeze(1)

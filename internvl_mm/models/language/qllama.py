"""QLLaMA: InternVL's language middleware, a LLaMA decoder whose learnable query tokens read InternViT's tokens.

The decoder is a plain LLaMA (RMSNorm, rotary position embedding, SwiGLU MLP, no biases). InternVL prepends query
tokens (``query_tokens`` [1, 96, hidden], owned by the InternVL model) to the text, and every second decoder layer
(index % ``cross_attention_frequency`` == 0) gets a cross-attention sub-layer in which *only the query tokens*
attend to all vision tokens: q from the LLaMA width, k/v from the vision width, RMSNorm on both inputs, no biases,
residual. Text tokens see the vision only through self-attention to the queries. Attention masks are given by the
caller (:func:`build_attention_mask` makes the ones InternVL uses), so one forward serves text-only encoding,
query-only image encoding and the stage-2 ITC / ITM / ITG batches.

Own implementation rather than ``transformers``' ``LlamaDecoderLayer``: the cross-attention sits *between* the
self-attention and the MLP of a layer, which needs a custom layer anyway, and transformers' LLaMA internals (rotary
module, attention interface, cache and mask arguments) changed shape across the 4.x -> 5.x releases; a compact
decoder keeps the official key layout (``model.layers.N.{self_attn,cross_attn,mlp,...}``, ``model.embed_tokens``,
``model.norm``, ``lm_head``) stable and is checked numerically against transformers' ``LlamaModel`` in the tests.
"""
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule

from internvl_mm.registry import MODELS
from internvl_mm.weights import PrefixView, load_weights, open_state_dict
from ..block_checkpointing import BlockCheckpointing
from ..presets import resolve_preset

# ----------------------------------------------------------------------------------------------------------------
# Architecture presets
# ----------------------------------------------------------------------------------------------------------------
_LLAMA_DEFAULTS = dict(cross_attention_frequency=2, rms_norm_eps=1e-6, rope_theta=10000.0,
                       max_position_embeddings=2048)
QLLAMA_ARCH_ZOO: Dict[str, dict] = {
    # The QLLaMA of InternVL-14B-224px (InternVL-C/G): Chinese-LLaMA-7B (vocabulary 49,954) + cross-attention in
    # layers 0, 2, ..., 30. rope_theta: the release builds its rotary embedding with the default base 10000.
    '8b': dict(_LLAMA_DEFAULTS, hidden_size=4096, num_layers=32, num_heads=32, intermediate_size=11008,
               vocab_size=49954),
    # Small presets with the same structure, for tests and the shapes demo.
    'small': dict(_LLAMA_DEFAULTS, hidden_size=256, num_layers=4, num_heads=4, intermediate_size=688,
                  vocab_size=1024),
    'tiny': dict(_LLAMA_DEFAULTS, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=172,
                 vocab_size=256),
}
QLLAMA_ARCH_ALIASES = {'qllama-8b': '8b', 'internvl-14b': '8b', 'internvl-14b-224px': '8b'}
REQUIRED_ARCH_KEYS = ('hidden_size', 'num_layers', 'num_heads', 'intermediate_size', 'vocab_size')


def resolve_qllama_arch(arch: Union[str, dict]) -> dict:
    """The full architecture dict of a preset name / alias or a custom dict, with clear errors."""
    spec = resolve_preset(arch, QLLAMA_ARCH_ZOO, QLLAMA_ARCH_ALIASES, REQUIRED_ARCH_KEYS, _LLAMA_DEFAULTS, 'QLLaMA')
    if spec['hidden_size'] % spec['num_heads'] or (spec['hidden_size'] // spec['num_heads']) % 2:
        raise ValueError(f"QLLaMA hidden_size {spec['hidden_size']} must split into {spec['num_heads']} heads of "
                         f'an even size (rotary embedding)')
    return spec


# ----------------------------------------------------------------------------------------------------------------
# Attention masks
# ----------------------------------------------------------------------------------------------------------------
MASK_KINDS = ('text', 'queries', 'itc', 'itm', 'itg')


def build_attention_mask(kind: str, num_query: int, text_mask: Optional[torch.Tensor] = None,
                         batch_size: Optional[int] = None) -> torch.Tensor:
    """Boolean (B, 1, L, L) mask (True = may attend) over ``[num_query queries ; text]`` for one use of QLLaMA.

    - ``text``: text alone, causal (the InternVL-C/G text encoder).
    - ``queries``: queries alone, bidirectional (InternVL-G's image side).
    - ``itc``: queries bidirectional among themselves, text causal, the two modalities isolated.
    - ``itm``: everything attends to everything (bidirectional image-text matching).
    - ``itg``: queries bidirectional and blind to the text; each text token sees all queries and earlier text.

    ``text_mask`` (B, T) marks real text tokens (right padding); padded keys are masked out everywhere.
    """
    if kind not in MASK_KINDS:
        raise ValueError(f'unknown attention mask kind {kind!r}; choose from {MASK_KINDS}')
    if kind == 'queries':
        if batch_size is None:
            raise ValueError("the 'queries' mask needs batch_size")
        return torch.ones(batch_size, 1, num_query, num_query, dtype=torch.bool)
    if text_mask is None:
        raise ValueError(f'the {kind!r} mask needs text_mask')
    text_mask = text_mask.bool()
    B, T = text_mask.shape
    Q = 0 if kind == 'text' else num_query
    L = Q + T
    device = text_mask.device
    keys = torch.cat([torch.ones(B, Q, dtype=torch.bool, device=device), text_mask], dim=1)  # (B, L)
    causal = torch.ones(L, L, dtype=torch.bool, device=device).tril()
    is_query = torch.arange(L, device=device) < Q
    if kind in ('text', 'itg'):
        rule = causal.clone()
        rule[:Q, :Q] = True  # queries see each other (itg) ...
    elif kind == 'itc':
        rule = causal & (is_query[:, None] == is_query[None, :])  # ... text causal, modalities isolated
        rule[:Q, :Q] = True
    else:  # itm
        rule = torch.ones(L, L, dtype=torch.bool, device=device)
    return (rule[None] & keys[:, None, :])[:, None]


# ----------------------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------------------
def linear(in_features: int, out_features: int) -> nn.Linear:
    """A bias-free projection allocated *uninitialised*: :meth:`QLLaMA.init_weights` (or a checkpoint) fills it,
    so a 7B decoder is not initialised twice and its memory is only touched once."""
    return nn.utils.skip_init(nn.Linear, in_features, out_features, bias=False, device=torch.get_default_device())


class LlamaRMSNorm(nn.Module):
    """LLaMA's RMSNorm: statistics in fp32, cast back to the input dtype, then the weight (no bias)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)

    def extra_repr(self) -> str:
        return f'{self.weight.shape[0]}, eps={self.eps}'


class RotaryEmbedding(nn.Module):
    """cos / sin tables of the rotary position embedding (the "rotate half" convention of HF LLaMA)."""

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / (base**(torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer('inv_freq', inv_freq, persistent=False)  # not in checkpoints, as in the release

    def forward(self, position_ids: torch.Tensor, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        freqs = position_ids.float()[..., None] * self.inv_freq.to(position_ids.device)
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, heads, L, d); cos / sin (L, d) or (B, L, d)."""
    if cos.dim() == 3:
        cos, sin = cos[:, None], sin[:, None]
    return x * cos + rotate_half(x) * sin


class LlamaAttention(nn.Module):
    """Multi-head self-attention with rotary embedding, bias-free q/k/v/o projections and a boolean mask."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q_proj = linear(dim, dim)
        self.k_proj = linear(dim, dim)
        self.v_proj = linear(dim, dim)
        self.o_proj = linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor], rope: Tuple[torch.Tensor, torch.Tensor]
                ) -> torch.Tensor:
        B, L, C = x.shape
        q, k, v = (proj(x).view(B, L, self.num_heads, self.head_dim).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        q, k = apply_rotary(q, *rope), apply_rotary(k, *rope)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(out.transpose(1, 2).reshape(B, L, C))


class QueryCrossAttention(nn.Module):
    """The query tokens attend to the vision tokens: RMSNorm on both, q from the LLaMA width, k/v from the vision
    width, no biases, no mask, no rotary. A query batch ``r`` times the vision batch reuses each image's k / v for
    ``r`` consecutive chunks (InternVL's ``repeat_time``: one image batch serves the stage-2 sub-tasks)."""

    def __init__(self, dim: int, num_heads: int, vision_width: int, eps: float = 1e-6):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.q_proj = linear(dim, dim)
        self.k_proj = linear(vision_width, dim)
        self.v_proj = linear(vision_width, dim)
        self.o_proj = linear(dim, dim)
        self.norm1 = LlamaRMSNorm(dim, eps)
        self.norm2 = LlamaRMSNorm(vision_width, eps)

    def forward(self, queries: torch.Tensor, vision: torch.Tensor) -> torch.Tensor:
        B, Q, C = queries.shape
        Bv, N, _ = vision.shape
        if B % Bv:
            raise ValueError(f'query batch {B} is not a multiple of the vision batch {Bv}')
        q = self.q_proj(self.norm1(queries)).view(B, Q, self.num_heads, self.head_dim).transpose(1, 2)
        vision = self.norm2(vision)
        k, v = (proj(vision).view(Bv, N, self.num_heads, self.head_dim).transpose(1, 2).repeat(B // Bv, 1, 1, 1)
                for proj in (self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(B, Q, C))


class LlamaMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)), no biases."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.gate_proj = linear(dim, hidden_dim)
        self.up_proj = linear(dim, hidden_dim)
        self.down_proj = linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class QLLaMADecoderLayer(nn.Module):
    """One decoder layer (also the unit for activation checkpointing and FSDP wrapping):

    h += self_attn(input_layernorm(h)); queries += cross_attn(queries, vision) where present;
    h += mlp(post_attention_layernorm(h)).
    """

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, eps: float, vision_width: Optional[int] = None):
        super().__init__()
        self.self_attn = LlamaAttention(dim, num_heads)
        self.cross_attn = QueryCrossAttention(dim, num_heads, vision_width, eps) if vision_width else None
        self.mlp = LlamaMLP(dim, mlp_dim)
        self.input_layernorm = LlamaRMSNorm(dim, eps)
        self.post_attention_layernorm = LlamaRMSNorm(dim, eps)

    def forward(self, h: torch.Tensor, mask: Optional[torch.Tensor], cos: torch.Tensor, sin: torch.Tensor,
                vision: Optional[torch.Tensor] = None, num_query: int = 0) -> torch.Tensor:
        h = h + self.self_attn(self.input_layernorm(h), mask, (cos, sin))
        if self.cross_attn is not None and vision is not None and num_query:
            queries = h[:, :num_query]
            h = torch.cat([queries + self.cross_attn(queries, vision), h[:, num_query:]], dim=1)
        return h + self.mlp(self.post_attention_layernorm(h))


class QLLaMAModel(nn.Module):
    """``embed_tokens`` -> decoder layers -> final ``norm`` (the ``qllama.model`` of the release)."""

    def __init__(self, spec: dict, vision_width: Optional[int]):
        super().__init__()
        dim = spec['hidden_size']
        self.embed_tokens = nn.utils.skip_init(nn.Embedding, spec['vocab_size'], dim, padding_idx=0,
                                               device=torch.get_default_device())
        every = spec['cross_attention_frequency']
        self.layers = nn.ModuleList(
            QLLaMADecoderLayer(dim, spec['num_heads'], spec['intermediate_size'], spec['rms_norm_eps'],
                               vision_width if vision_width and i % every == 0 else None)
            for i in range(spec['num_layers']))
        self.norm = LlamaRMSNorm(dim, spec['rms_norm_eps'])
        self.rotary = RotaryEmbedding(dim // spec['num_heads'], spec['rope_theta'])


# ----------------------------------------------------------------------------------------------------------------
# QLLaMA
# ----------------------------------------------------------------------------------------------------------------
@MODELS.register_module()
class QLLaMA(BlockCheckpointing, BaseModule):
    """The LLaMA decoder with query cross-attention (``qllama`` in InternVL checkpoints).

    Args:
        arch: a preset of :data:`QLLAMA_ARCH_ZOO` ('8b' = InternVL-14B's, 'small', 'tiny') or a dict with
            ``hidden_size``, ``num_layers``, ``num_heads``, ``intermediate_size``, ``vocab_size`` and optionally
            ``cross_attention_frequency``, ``rms_norm_eps``, ``rope_theta``, ``max_position_embeddings``.
        vision_width: width of the vision tokens the queries read; ``None`` builds no cross-attention at all
            (the text tower of a stage-1 InternVL-C).
        with_lm_head: build ``lm_head`` (for the ITG loss and captioning).
        with_cp: activation checkpointing of every layer (True) or of the first ``with_cp`` layers (int).

    The projections and the embedding are allocated uninitialised; :meth:`init_weights` (which mmengine's runner
    calls) or a checkpoint fills them.
    """
    arch_zoo = QLLAMA_ARCH_ZOO
    checkpointable_blocks = (QLLaMADecoderLayer, )

    def __init__(self, arch: Union[str, dict] = '8b', vision_width: Optional[int] = None, with_lm_head: bool = True,
                 with_cp: Union[bool, int] = False, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        spec = resolve_qllama_arch(arch)
        self.arch = spec
        self.hidden_size = spec['hidden_size']
        self.num_layers = spec['num_layers']
        self.vocab_size = spec['vocab_size']
        self.max_positions = spec['max_position_embeddings']
        self.vision_width = vision_width
        self.model = QLLaMAModel(spec, vision_width)
        self.lm_head = linear(self.hidden_size, self.vocab_size) if with_lm_head else None
        self.set_grad_checkpointing(with_cp)

    def init_weights(self):
        """LLaMA's initialisation (normal(0, 0.02) for every projection and the embedding, norms at one), or the
        weights of a LLaMA release with ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` (stage 1 starts the
        text tower from a LLaMA-7B; the cross-attention, new in QLLaMA, keeps its random initialisation)."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
                if isinstance(m, nn.Embedding):
                    nn.init.zeros_(m.weight[m.padding_idx])
            elif isinstance(m, LlamaRMSNorm):
                nn.init.ones_(m.weight)
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'])
        self._is_init = True

    def load_pretrained(self, checkpoint: str) -> None:
        """Copy a LLaMA checkpoint (``model.*`` / ``lm_head.*`` keys, a Hugging Face release folder or file, or a
        ``qllama.``-prefixed InternVL one) into this decoder; only the cross-attention may be missing."""
        source = open_state_dict(checkpoint)
        if any(k.startswith('qllama.') for k in source):
            source = PrefixView(source, 'qllama.')
        load_weights(self, source, what='QLLaMA', allow_missing=('model.layers.*.cross_attn', ),
                     ignore_unexpected=lambda k: 'rotary_emb' in k or not k.startswith(('model.', 'lm_head.')),
                     hint="set qllama arch to the release's sizes (vocab_size, hidden_size, intermediate_size)")
        MMLogger.get_current_instance().info(f'Loaded a LLaMA from {checkpoint} into QLLaMA')

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        # a clear error instead of an index fault; meta tensors (memory planning) have no values to check
        if input_ids.numel() and not input_ids.is_meta and int(input_ids.max()) >= self.vocab_size:
            raise ValueError(f'token id {int(input_ids.max())} is outside the QLLaMA vocabulary '
                             f'({self.vocab_size}); the tokenizer does not belong to this model (check '
                             f'qllama.arch vocab_size against the tokenizer folder)')
        return self.model.embed_tokens(input_ids)

    def forward(self, input_ids: Optional[torch.Tensor] = None, query_embeds: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, vision_states: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Final hidden states (B, Q + T, hidden) of ``[query_embeds ; embed(input_ids)]``.

        ``attention_mask`` is a boolean (B, 1, L, L) mask from :func:`build_attention_mask` (None: all see all);
        ``vision_states`` (B', N, vision_width), with B a multiple of B', feed the queries' cross-attention.
        Positions run 0..L-1 over the whole sequence, as in the release.
        """
        parts = []
        if query_embeds is not None:
            parts.append(query_embeds)
        if input_ids is not None:
            parts.append(self.embed(input_ids))
        if not parts:
            raise ValueError('QLLaMA needs input_ids, query_embeds or both')
        h = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        num_query = 0 if query_embeds is None else query_embeds.shape[1]
        if vision_states is not None and num_query and self.vision_width is None:
            raise ValueError('this QLLaMA was built without cross-attention (vision_width=None)')
        L = h.shape[1]
        if L > self.max_positions:
            raise ValueError(f'sequence of {L} tokens exceeds max_position_embeddings {self.max_positions}')
        cos, sin = self.model.rotary(torch.arange(L, device=h.device), h.dtype)
        for i, layer in enumerate(self.model.layers):
            h = self.run_block(i, layer, h, attention_mask, cos, sin, vision_states, num_query)
        return self.model.norm(h)

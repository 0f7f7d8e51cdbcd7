"""InternVL-C and InternVL-G: InternViT + QLLaMA contrastive / generative pretraining and zero-shot embeddings.

- **InternVL-C** (stage 1): image = ``clip_projector``(all last-layer InternViT tokens, cls included); text = the
  hidden state of the EOS of ``<s> summarize:CAPTION </s>`` times ``text_projection``; symmetric InfoNCE over all
  ranks with a learnable temperature (``logit_scale``, initialised to log(1/0.07); training clamps it at 100 as CLIP
  does, evaluation uses the checkpoint's value unclamped, as the official forward ``logit_scale.exp()`` does).
  A pair whose caption is empty (``<s> summarize: </s>``) has its ITC target dropped, as the official code does.
- **InternVL-G** (stage 2): ``num_query_token`` learnable queries pass through QLLaMA, cross-attending to the
  InternViT tokens; image = normalize(``clip_projector``(ViT tokens)) + normalize(``clip_projector2``(queries)).
  Training (InternViT and LLaMA frozen) sums ITC (``clip_projector2`` vs text), ITM (``itm_head`` averaged over the
  queries; half of the batch paired with hard negatives *sampled from the ITC similarity matrix*, BLIP-2 style —
  the released InternVL fine-tuning code draws random negatives and the stage-2 pretraining code was never
  released) and ITG (next-token loss on ``English caption: CAPTION``, queries bidirectional and blind to the text,
  text causal over queries and earlier text).

Checkpoints are written in parameter names, whatever the strategy. Every loading path also reads the official
InternVL-14B-224px layout (the vision tower's own adapter maps ``vision_model.embeddings.*`` /
``vision_model.encoder.layers.N.*``; QLLaMA and the heads already use the release's names; the release's 0-d
``logit_scale`` is reshaped), so the Hugging Face release folder is a checkpoint for ``tools/test.py`` as it is, and
:meth:`InternVL.release_state_dict` writes that layout for ``tools/export_release.py``. The key functions are the pure
pair :func:`convert_internvl_key` / :func:`internvl_key_to_official`, built on InternViT's one key table.
"""
import fnmatch
import math
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from internvl_mm.errors import MissingFileError
from internvl_mm.registry import MODELS
from internvl_mm.weights import load_weights, materialize
from ..backbones.intern_vit_checkpoint import convert_checkpoint_key, to_release_key
from ..heads.attention_pooling import AttentionPooling
from ..language.qllama import QLLaMA, build_attention_mask
from ..language.tokenizer import ITC_PREFIX, PAD_ID, InternVLTokenizer, check_tokenizer_dir
from .losses import (IGNORE_INDEX, contrastive_loss, cross_entropy_or_zero, logit_scale_value,
                     sample_hard_negatives)
from .prompts import resolve_class_names, resolve_templates

# ----------------------------------------------------------------------------------------------------------------
# Checkpoint key mapping (pure)
# ----------------------------------------------------------------------------------------------------------------
# Read from the released modeling code (modeling_internvl.py / modeling_qllama.py of InternVL-14B-224px) and
# partly confirmed against the release's shard index (clip_projector*, vision_model.*); the qllama.* names are
# *inferred* from the module definitions (LlamaForCausalLM with cross_attn on even layers), not read from a
# downloaded checkpoint.
TOP_LEVEL_KEYS = ('qllama.', 'query_tokens', 'text_projection', 'logit_scale', 'clip_projector.', 'clip_projector2.',
                  'itm_head.')
# Parts that stage 2 adds to a stage-1 InternVL-C, allowed to be missing when stage 2 starts from stage 1.
STAGE2_NEW_PARTS = ('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head',
                    'qllama.lm_head')
# What stage 2 trains (the paper: the queries and cross-attention, plus the new heads and the temperature).
STAGE2_TRAINABLE = ('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head', 'logit_scale')


def matches(name: str, patterns: Sequence[str]) -> List[str]:
    """The glob patterns (``*`` = any text) that match parameter ``name`` itself or a module above it."""
    return [p for p in patterns if fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + '.*')]


def convert_internvl_key(key: str) -> Optional[str]:
    """An InternVL-14B key (official layout, or this model's own names) -> this model's parameter name, or None.

    ``vision_model.*`` goes through InternViT's mapping (:func:`convert_checkpoint_key`); a DDP ``module.`` prefix
    is dropped; QLLaMA and head keys are already this model's names.
    """
    if key.startswith('module.'):
        key = key[len('module.'):]
    if key.startswith('vision_model.'):
        vit_key = convert_checkpoint_key(key[len('vision_model.'):])
        return None if vit_key is None else 'vision_model.' + vit_key
    return key if key.startswith(TOP_LEVEL_KEYS) else None


def internvl_key_to_official(name: str) -> str:
    """This model's parameter name -> the key of the official release (inverse of :func:`convert_internvl_key`)."""
    if name.startswith('vision_model.'):
        return 'vision_model.' + to_release_key(name[len('vision_model.'):])
    return name


def _accept_release_layout(module, state_dict, prefix, *args):
    """load_state_dict pre-hook on InternVL: the release stores ``logit_scale`` as a scalar (the model as (1,)),
    and a backbone-only checkpoint keyed as an OpenMMLab task model's (``backbone.*``) fills the vision tower."""
    value = state_dict.get(prefix + 'logit_scale')
    if value is not None and len(value.shape) == 0:
        state_dict[prefix + 'logit_scale'] = materialize(value).reshape(1)
    for key in [k for k in state_dict if k.startswith(prefix + 'backbone.')]:
        state_dict[prefix + 'vision_model.' + key[len(prefix + 'backbone.'):]] = state_dict.pop(key)


# ----------------------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------------------
@MODELS.register_module()
class InternVL(BaseModel):
    """InternVL-C / InternVL-G for contrastive + generative pretraining and zero-shot evaluation.

    Args:
        backbone: the InternViT config (``type`` defaults to 'InternViT'; its last-layer tokens are used). The
            module is ``vision_model``, the prefix of the official checkpoints.
        qllama: the :class:`QLLaMA` config (``arch``, ``with_cp``, ``init_cfg`` to start from a LLaMA release).
        num_query_token: learnable queries (96 in the release). 0 builds a pure InternVL-C without queries,
            cross-attention, ``clip_projector2``, ``itm_head`` and ``lm_head`` (stage 1).
        embed_dim / attn_pool_num_heads: the CLIP embedding width (768) and the projectors' heads (16).
        mode: which image embedding ``predict`` and ITC use: 'InternVL-C' (``clip_projector``) or 'InternVL-G'.
        losses: any of 'itc', 'itm', 'itg' (stage 1: ('itc',); stage 2: all three).
        trainable: if given, only parameters matching one of these glob patterns (a parameter name or a module
            above it, e.g. 'qllama.model.layers.*.cross_attn') train, the rest is frozen (stage 2:
            :data:`STAGE2_TRAINABLE`).
        tokenizer: the folder with the tokenizer files (the release folder); needed for zero-shot classification.
        max_txt_len: longest token sequence of a prompt (80).
        zero_shot: ``dict(class_names=..., templates=...)`` (lists, files or names such as 'imagenet' /
            'openai_imagenet'): ``predict`` then scores images against the averaged prompt embeddings.
        zero_shot_logit_scale: the factor of the cosine similarities whose softmax is ``pred_score``. None (the
            default): the checkpoint's temperature exp(``logit_scale``), unclamped, as the official forward uses it;
            a number (e.g. clip_benchmark's 100) overrides it. Rankings, and so every accuracy, are the same.
        max_logit_scale: the clamp of exp(``logit_scale``) in the *training* ITC loss (CLIP's 100; None: no
            clamp, as the released stage-2 fine-tuning code). In eval mode the loss uses the checkpoint's value.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH, allow_missing=(...))`` loads a release folder or an
            mmengine checkpoint; ``allow_missing`` (glob patterns) names parts that may be absent (e.g.
            ``STAGE2_NEW_PARTS`` when stage 2 starts from a stage-1 checkpoint).
    """
    MODES = ('InternVL-C', 'InternVL-G')
    PROMPTS_PER_PASS = 256  # zero-shot classifier: prompts per text-tower pass
    LOSSES = ('itc', 'itm', 'itg')

    def __init__(self,
                 backbone: dict,
                 qllama: dict,
                 num_query_token: int = 96,
                 embed_dim: int = 768,
                 attn_pool_num_heads: int = 16,
                 mode: str = 'InternVL-C',
                 losses: Sequence[str] = ('itc', ),
                 trainable: Optional[Sequence[str]] = None,
                 tokenizer: Optional[str] = None,
                 max_txt_len: int = 80,
                 label_smoothing: float = 0.0,
                 zero_shot: Optional[dict] = None,
                 zero_shot_logit_scale: Optional[float] = None,
                 max_logit_scale: Optional[float] = 100.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if mode not in self.MODES:
            raise ValueError(f'InternVL mode must be one of {self.MODES}, got {mode!r}')
        unknown = sorted(set(losses) - set(self.LOSSES))
        if unknown or not losses:
            raise ValueError(f'InternVL losses must be a non-empty subset of {self.LOSSES}, got {list(losses)}')
        needs_queries = mode == 'InternVL-G' or {'itm', 'itg'} & set(losses)
        if needs_queries and not num_query_token:
            raise ValueError(f'mode {mode} with losses {list(losses)} needs query tokens; set num_query_token > 0 '
                             f'(96 in the release)')
        self.mode, self.losses = mode, tuple(losses)
        self.num_query_token = num_query_token
        self.max_txt_len = max_txt_len
        self.label_smoothing = label_smoothing

        self.vision_model = MODELS.build(dict(dict(type='InternViT', out_type='raw', out_indices=-1), **backbone))
        if self.vision_model.out_type != 'raw':
            raise ValueError("InternVL needs the backbone's raw tokens: set backbone.out_type='raw'")
        vision_width = self.vision_model.embed_dims
        self.register_load_state_dict_pre_hook(_accept_release_layout)
        self.qllama = QLLaMA(**dict(qllama, vision_width=vision_width if num_query_token else None,
                                    with_lm_head=bool(num_query_token)))
        hidden = self.qllama.hidden_size
        for width, name in ((vision_width, 'backbone'), (hidden, 'qllama')):
            if width % attn_pool_num_heads:
                raise ValueError(f'the {name} width {width} is not divisible by attn_pool_num_heads '
                                 f'{attn_pool_num_heads}')
        self.clip_projector = AttentionPooling(vision_width, attn_pool_num_heads, embed_dim)
        self.text_projection = nn.Parameter(torch.empty(hidden, embed_dim))
        # (1,) rather than a scalar: FSDP shards no 0-d parameter; the release layout stores it 0-d
        self.logit_scale = nn.Parameter(torch.full((1, ), math.log(1 / 0.07)))
        if num_query_token:
            self.query_tokens = nn.Parameter(torch.zeros(1, num_query_token, hidden))
            self.clip_projector2 = AttentionPooling(hidden, attn_pool_num_heads, embed_dim)
            self.itm_head = nn.Linear(hidden, 2)
        else:
            self.query_tokens = self.clip_projector2 = self.itm_head = None
        self._init_own_parameters()

        self.tokenizer_path = tokenizer
        self._tokenizer: Optional[InternVLTokenizer] = None
        self.zero_shot_logit_scale = zero_shot_logit_scale
        if max_logit_scale is not None and max_logit_scale <= 0:
            raise ValueError(f'max_logit_scale must be positive (CLIP: 100) or None, got {max_logit_scale}')
        self.max_logit_scale = max_logit_scale
        self._empty_forms: Dict[str, List[List[int]]] = {}
        self.zero_shot = None
        if zero_shot is not None:
            unknown = sorted(set(zero_shot) - {'class_names', 'templates'})
            if unknown or 'class_names' not in zero_shot:
                raise ValueError(f'zero_shot takes class_names and templates, got {sorted(zero_shot)}')
            names = zero_shot['class_names']
            # a class-name file that is not there yet (a data file of the evaluation set, e.g. Kinetics') is read
            # when the classifier is first needed, so that the config builds without the data
            deferred = isinstance(names, str) and not names.startswith('clip_benchmark:') and '/' in names \
                and not osp.isfile(names)
            self.zero_shot = (names if deferred else resolve_class_names(names),
                              resolve_templates(zero_shot.get('templates', ('{}', ))))
        self._classifier: Optional[torch.Tensor] = None
        # How hard ITM's negatives are (1: sampled from the ITC similarities, the paper's recipe; 0: uniformly at
        # random); ITMHardNegativeCurriculumHook raises it from 0 to 1 over the first iterations of a run.
        self.itm_negative_hardness = 1.0
        if trainable is not None:
            self._freeze_all_but(trainable)

    # -- construction --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _init_own_parameters(self):
        nn.init.normal_(self.text_projection, std=self.qllama.hidden_size**-0.5)
        if self.query_tokens is not None:
            nn.init.normal_(self.query_tokens, std=0.02)
        for projector in (self.clip_projector, self.clip_projector2, self.itm_head):
            for m in projector.modules() if projector is not None else ():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def _freeze_all_but(self, names: Sequence[str]):
        matched = set()
        for param_name, param in self.named_parameters():
            hits = matches(param_name, names)
            matched.update(hits)
            param.requires_grad = bool(hits)
        unmatched = sorted(set(names) - matched)
        if unmatched:
            raise ValueError(f'trainable patterns {unmatched} match no parameter of this InternVL (parameter '
                             f'names look like {[n for n, _ in self.named_parameters()][-3:]})')

    def init_weights(self):
        """Random initialisation of every part (each from its own recipe), or the weights of ``init_cfg``."""
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'], self.init_cfg.get('allow_missing', ()))
            self._is_init = True
            return
        super().init_weights()  # InternViT's and QLLaMA's own recipes (or their init_cfg)
        self._init_own_parameters()

    def load_pretrained(self, checkpoint: str, allow_missing: Sequence[str] = ()) -> Dict[str, List[str]]:
        """Load a release folder, shard index, safetensors file or mmengine checkpoint.

        Keys of parts this model does not have (e.g. the queries of a release loaded as a pure InternVL-C, or a
        chat model's LLM) are ignored and reported; missing weights are an error unless they match an
        ``allow_missing`` pattern (those are initialised by their parts' recipes); the ViT position embedding is
        resized to this model's grid (stage 1 at 196 px -> 224 px); any other mismatch is an error naming the key.
        """
        report = load_weights(
            self, checkpoint, what='InternVL', allow_missing=allow_missing,
            ignore_unexpected=lambda key: not key.startswith('vision_model.'),
            hint=f'is it an InternVL checkpoint of this architecture (backbone / qllama arch)? A stage-1 checkpoint '
                 f'for stage 2 needs allow_missing={STAGE2_NEW_PARTS}.')
        self._init_missing(report.missing)
        MMLogger.get_current_instance().info(
            f'Loaded {len(report.loaded)} InternVL tensors from {checkpoint}'
            + (f'; newly initialised: {sorted({self._part(n) for n in report.missing})}' if report.missing else '')
            + (f'; ignored {len(report.ignored)} keys, e.g. {report.ignored[:3]}' if report.ignored else ''))
        return dict(missing=report.missing, ignored=report.ignored)

    def release_state_dict(self) -> Dict[str, torch.Tensor]:
        """The weights in the official InternVL-14B-224px layout (what ``tools/export_release.py`` writes)."""
        state = {internvl_key_to_official(k): v for k, v in self.state_dict().items()}
        state['logit_scale'] = state['logit_scale'].reshape(())
        return state

    def memory_planning_forward(self, images: torch.Tensor):
        """The forward whose saved tensors a training step keeps, for the memory planner: the image tower and a
        causal QLLaMA pass over ``max_txt_len`` caption tokens per image (stage 1's ITC), without the loss."""
        ids = torch.ones(images.shape[0], self.max_txt_len, dtype=torch.long, device=images.device)
        mask = build_attention_mask('text', 0, torch.ones_like(ids, dtype=torch.bool))
        return self.encode_image(images), self.qllama(ids, attention_mask=mask)

    @torch.no_grad()
    def _init_missing(self, names: Sequence[str]):
        """Initialise the parameters a checkpoint did not have (stage 2's queries, cross-attention, LM head and
        heads) by their parts' own recipes; QLLaMA allocates its projections uninitialised."""
        modules = dict(self.named_modules())
        for name in names:
            owner, _, attr = name.rpartition('.')
            param = getattr(modules[owner], attr)
            if name == 'text_projection':
                nn.init.normal_(param, std=self.qllama.hidden_size**-0.5)
            elif name == 'logit_scale':
                param.fill_(math.log(1 / 0.07))
            elif attr.endswith('bias'):
                nn.init.zeros_(param)
            elif param.dim() == 1:  # RMSNorm / LayerNorm weights
                nn.init.ones_(param)
            else:  # projections, embeddings, queries: LLaMA's and the projectors' normal(0, 0.02)
                nn.init.normal_(param, std=0.02)

    @staticmethod
    def _part(name: str) -> str:
        return re.sub(r'\.\d+\.', '.N.', name).rsplit('.', 1)[0] if '.' in name else name

    def train(self, mode: bool = True):
        super().train(mode)
        if mode:
            self._classifier = None  # the weights will change: recompute the zero-shot classifier next time
        return self

    # -- encoders ------------------------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> InternVLTokenizer:
        if self._tokenizer is None:
            if not self.tokenizer_path:
                raise ValueError('zero-shot classification needs the tokenizer: set model.tokenizer to the folder '
                                 'with the tokenizer files (the release folder)')
            tokenizer = InternVLTokenizer(check_tokenizer_dir(self.tokenizer_path), self.max_txt_len)
            if tokenizer.vocab_size > self.qllama.vocab_size:
                raise ValueError(f'the tokenizer in {self.tokenizer_path} has {tokenizer.vocab_size} tokens but '
                                 f'the QLLaMA vocabulary has {self.qllama.vocab_size}; use the matching qllama arch')
            self._tokenizer = tokenizer
        return self._tokenizer

    def _vision_tokens(self, images: torch.Tensor) -> torch.Tensor:
        trains = any(p.requires_grad for p in self.vision_model.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and trains):
            return self.vision_model(images)[-1]

    def _queries(self, batch_size: int) -> torch.Tensor:
        return self.query_tokens.expand(batch_size, -1, -1)

    def query_features(self, vision: torch.Tensor) -> torch.Tensor:
        """QLLaMA outputs (B, Q, hidden) of the queries alone (bidirectional), reading the vision tokens."""
        return self.qllama(query_embeds=self._queries(vision.shape[0]), vision_states=vision)

    def encode_image(self, images: torch.Tensor, mode: Optional[str] = None) -> torch.Tensor:
        """L2-normalised (B, embed_dim) image embeddings, InternVL-C or InternVL-G (default: ``self.mode``)."""
        return self._image_embedding(self._vision_tokens(images), mode or self.mode)

    def encode_video(self, videos: torch.Tensor, mode: Optional[str] = None) -> torch.Tensor:
        """L2-normalised (B, embed_dim) embeddings of (B, T, C, H, W) clips: every frame embedded as an image, the
        T normalised frame embeddings averaged and normalised again (the paper's zero-shot video protocol)."""
        if videos.dim() != 5:
            raise ValueError(f'encode_video takes (B, T, C, H, W) clips, got shape {tuple(videos.shape)}')
        frames = self.encode_image(videos.flatten(0, 1), mode)
        return F.normalize(frames.view(videos.shape[0], videos.shape[1], -1).mean(1), dim=-1)

    def encode_visual(self, inputs: torch.Tensor, mode: Optional[str] = None) -> torch.Tensor:
        """Images (4-D) or clips (5-D, :meth:`encode_video`)."""
        return self.encode_video(inputs, mode) if inputs.dim() == 5 else self.encode_image(inputs, mode)

    def _image_embedding(self, vision: torch.Tensor, mode: str) -> torch.Tensor:
        image = F.normalize(self.clip_projector(vision), dim=-1)
        if mode == 'InternVL-G':
            if self.query_tokens is None:
                raise ValueError('InternVL-G embeddings need query tokens (num_query_token > 0)')
            image = F.normalize(image + F.normalize(self.clip_projector2(self.query_features(vision)), dim=-1),
                                dim=-1)
        return image

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        """L2-normalised (N, embed_dim) text embeddings of right-padded token ids (pad 0): the EOS hidden state of
        a causal pass over the text alone, projected by ``text_projection``."""
        mask = ids != PAD_ID
        length = int(mask.sum(1).max())
        ids, mask = ids[:, :length], mask[:, :length]
        hidden = self.qllama(ids, attention_mask=build_attention_mask('text', 0, mask))
        eos = hidden[torch.arange(ids.shape[0], device=ids.device), mask.sum(1) - 1]
        return F.normalize(eos @ self.text_projection, dim=-1)

    # -- temperature and empty captions --------------------------------------------------------------------------
    def _logit_scale_clamp(self) -> Optional[float]:
        """The clamp of the ITC temperature: CLIP's while training, none in eval mode (the official forward)."""
        if not self.training or self.max_logit_scale is None:
            return None
        return math.log(self.max_logit_scale)

    def eval_logit_scale(self) -> torch.Tensor:
        """The factor of the cosine similarities in evaluation: ``zero_shot_logit_scale`` if set, else the
        checkpoint's exp(``logit_scale``) unclamped, as the official ``InternVL_C.forward`` computes it."""
        if self.zero_shot_logit_scale is not None:
            return torch.tensor(float(self.zero_shot_logit_scale), device=self.logit_scale.device)
        return self.logit_scale.detach().float().exp().reshape(())

    def _empty_sequences(self, kind: str) -> List[List[int]]:
        """Token id lists of an empty (or blank) caption: ``<s> summarize: </s>`` for ITC, ``<s> </s>`` for ITM."""
        if kind not in self._empty_forms:
            forms = []
            if self.tokenizer_path:
                prefix = ITC_PREFIX if kind == 'itc' else ''
                forms = [self.tokenizer.ids(prefix), self.tokenizer.ids(prefix + ' ')]
            self._empty_forms[kind] = forms
        return self._empty_forms[kind]

    def empty_texts(self, ids: torch.Tensor, kind: str) -> torch.Tensor:
        """(N,) bool: which right-padded id rows are an empty caption, the guard of the official stage-2 code.

        ITM (the raw caption): only BOS and EOS (the official ``attention_mask.sum(1) - 1 == 1``). ITC (the
        ``summarize:`` text): the ids of the bare prefix, read from the model's tokenizer (the official code
        hard-codes LLaMA's 5 tokens; the tokenizer makes it right for any vocabulary). A blank caption (one space)
        counts as empty too. Without ``model.tokenizer`` only the tokenizer-free ITM rule applies.
        """
        lengths = (ids != PAD_ID).sum(1)
        empty = lengths <= 2 if kind == 'itm' else torch.zeros_like(lengths, dtype=torch.bool)
        for form in self._empty_sequences(kind):
            if len(form) <= ids.shape[1]:
                row = torch.full((ids.shape[1], ), PAD_ID, dtype=ids.dtype, device=ids.device)
                row[:len(form)] = torch.tensor(form, dtype=ids.dtype, device=ids.device)
                empty |= (ids == row).all(1)
        return empty

    # -- mmengine interface --------------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.encode_visual(inputs)
        raise ValueError(f'Invalid mode {mode!r}; use loss, predict or tensor')

    @staticmethod
    def _rows(value) -> torch.Tensor:
        """A sample's token ids as (num_texts, length)."""
        value = torch.as_tensor(value)
        return value.reshape(-1, value.shape[-1])

    def _stack(self, data_samples: list, key: str) -> torch.Tensor:
        """(B, length): the first text of each sample (training samples carry one caption)."""
        if not data_samples or key not in data_samples[0]:
            raise KeyError(f'the data samples have no {key!r}; add TokenizeCaption to the pipeline and list '
                           f'{key!r} in PackInputs(algorithm_keys=...)')
        return torch.stack([self._rows(s.get(key))[0] for s in data_samples])

    def _text_trains(self) -> bool:
        """Whether any weight of the text path (LLaMA without cross-attention, text_projection) trains."""
        return self.text_projection.requires_grad or any(
            p.requires_grad for n, p in self.qllama.named_parameters() if 'cross_attn' not in n
            and not n.startswith('lm_head'))

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        device = inputs.device
        text_ids = self._stack(data_samples, 'text_ids').to(device)
        vision = self._vision_tokens(inputs)
        losses = {}
        if self.mode == 'InternVL-G':
            image = F.normalize(self.clip_projector2(self.query_features(vision)), dim=-1)
        else:
            image = F.normalize(self.clip_projector(vision), dim=-1)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self._text_trains()):
            text = self.encode_text(text_ids)
        clamp = self._logit_scale_clamp()
        valid = ~self.empty_texts(text_ids, 'itc') if 'itc' in self.losses else None
        itc, logits_i2t = contrastive_loss(image, text, self.logit_scale, self.label_smoothing, valid=valid,
                                           max_logit_scale=clamp)
        if 'itc' in self.losses:
            losses['loss_itc'] = itc
        losses['logit_scale'] = logit_scale_value(self.logit_scale, clamp).detach()
        if 'itm' in self.losses or 'itg' in self.losses:
            losses.update(self._itm_itg_losses(vision, logits_i2t, data_samples))
        return losses

    def _itm_itg_losses(self, vision: torch.Tensor, logits_i2t: torch.Tensor, data_samples: list
                        ) -> Dict[str, torch.Tensor]:
        """One QLLaMA pass over the stacked ITM and ITG batches (each image's k / v reused for both)."""
        device = vision.device
        B, Q = vision.shape[0], self.num_query_token
        chunks, masks, kinds = [], [], []
        if 'itm' in self.losses:
            itm_ids = self._stack(data_samples, 'itm_ids').to(device)
            negative, valid = sample_hard_negatives(logits_i2t, itm_ids, self.itm_negative_hardness)
            num_negative = B - B // 2  # the first half gets its hard negative, the second half its own caption
            order = torch.arange(B, device=device)
            order[:num_negative] = negative[:num_negative]
            itm_labels = (order == torch.arange(B, device=device)).long()
            itm_labels[:num_negative][~valid[:num_negative]] = IGNORE_INDEX
            itm_labels[self.empty_texts(itm_ids[order], 'itm')] = IGNORE_INDEX  # the official guard
            chunks.append(itm_ids[order])
            kinds.append('itm')
        if 'itg' in self.losses:
            chunks.append(self._stack(data_samples, 'itg_ids').to(device))
            itg_labels = self._stack(data_samples, 'itg_labels').to(device)
            kinds.append('itg')
        length = max(int((c != PAD_ID).sum(1).max()) for c in chunks)
        ids = torch.cat([c[:, :length] for c in chunks])
        for kind, chunk in zip(kinds, chunks):
            masks.append(build_attention_mask(kind, Q, chunk[:, :length] != PAD_ID))
        hidden = self.qllama(ids, query_embeds=self._queries(ids.shape[0]), attention_mask=torch.cat(masks),
                             vision_states=vision)
        out = {}
        for i, kind in enumerate(kinds):
            h = hidden[i * B:(i + 1) * B]
            if kind == 'itm':
                logits = self.itm_head(h[:, :Q]).mean(dim=1)
                out['loss_itm'] = cross_entropy_or_zero(logits, itm_labels)
            else:
                logits = self.qllama.lm_head(h[:, Q:-1])
                out['loss_itg'] = F.cross_entropy(logits.flatten(0, 1).float(), itg_labels[:, 1:length].flatten(),
                                                  ignore_index=-100)
        return out

    @torch.no_grad()
    def zero_shot_classifier(self) -> torch.Tensor:
        """(num_classes, embed_dim): per class, the normalised mean of its normalised prompt embeddings."""
        if self.zero_shot is None:
            raise ValueError('this InternVL has no zero_shot=dict(class_names=..., templates=...)')
        if self._classifier is None:
            names, templates = self.zero_shot
            if isinstance(names, str):
                if not osp.isfile(names):
                    raise MissingFileError(f'zero-shot class names file {names} does not exist; write the class '
                                           f'names one a line in label order (for Kinetics: the sorted label '
                                           f'column of the annotation CSV), or set model.zero_shot.class_names')
                names = resolve_class_names(names)
                self.zero_shot = (names, templates)
            device = self.text_projection.device
            # several classes per text-tower pass (at most PROMPTS_PER_PASS prompts, at least one class): the
            # embeddings do not depend on the batch (right padding, pooled at each text's EOS)
            per_pass = max(1, self.PROMPTS_PER_PASS // len(templates))
            weights = []
            for start in range(0, len(names), per_pass):
                chunk = names[start:start + per_pass]
                ids, _ = self.tokenizer.encode([t.format(n) for n in chunk for t in templates], prefix=ITC_PREFIX)
                prompts = self.encode_text(ids.to(device)).view(len(chunk), len(templates), -1)
                weights.append(F.normalize(prompts.mean(1), dim=-1))
            self._classifier = torch.cat(weights)
        return self._classifier

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> list:
        """Data samples with ``image_embeds``, ``text_embeds`` (one row per caption, when the samples carry
        ``text_ids``) and, with ``zero_shot``, the classification ``pred_score`` / ``pred_label``."""
        from mmpretrain.structures import DataSample
        images = self.encode_visual(inputs)  # a batch of clips (B, T, C, H, W): averaged frame embeddings
        samples = data_samples if data_samples is not None else [DataSample() for _ in range(len(images))]
        if samples and 'text_ids' in samples[0]:
            per_sample = [self._rows(s.text_ids) for s in samples]
            texts = self.encode_text(torch.cat(per_sample).to(inputs.device))
            for sample, emb in zip(samples, texts.split([len(t) for t in per_sample])):
                sample.set_field(emb.cpu(), 'text_embeds')
        scores = None
        if self.zero_shot is not None:
            scores = (self.eval_logit_scale() * images @ self.zero_shot_classifier().t()).softmax(dim=-1)
        for i, sample in enumerate(samples):
            sample.set_field(images[i].cpu(), 'image_embeds')
            if scores is not None:
                sample.set_pred_score(scores[i].cpu())
        return samples

"""Models by name, as ``timm.create_model`` and ``open_clip.create_model_and_transforms`` make them.

- :func:`create_model`: an InternViT from a zoo name (``internvit-6b-224px``, ...) or an arch preset (``6b-224``,
  ``300m``, ``tiny``, the aliases of :data:`~internvl_mm.models.backbones.intern_vit.ARCH_ALIASES`), randomly
  initialised, with the zoo weights (``pretrained=True``) or a local checkpoint (``pretrained=PATH``). The model is
  an :class:`InternViT` (its weights load through the one weight path: ``init_cfg`` + ``init_weights``) with timm's
  interface: ``pretrained_cfg``, ``num_features``, ``feature_info``, ``forward_features``, ``forward_head``; with
  ``features_only=True`` its forward returns the (B, C, h, w) maps of ``out_indices`` (InternViT's
  ``out_type='featmap'``).
- :func:`create_model_and_transforms`: InternVL-C / InternVL-G (``internvl-c-14b``, ``internvl-g-14b``), any zoo
  name, or a config file, with the evaluation transform (PIL image -> normalised tensor at the model's size).
"""
import contextlib
import copy
import difflib
import logging
import os.path as osp
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from internvl_mm.errors import ConfigError
from internvl_mm.models.backbones.intern_vit import ARCH_ALIASES, ARCH_ZOO, InternViT, resolve_arch
from internvl_mm.registry import MODELS
from internvl_mm.zoo import ZOO, ZooModel
from internvl_mm.zoo.catalog import ZOO_SCHEME

from .pretrained import create_transform, make_pretrained_cfg, preprocessor_stats

GLOBAL_POOLS = ('token', 'avg', 'cls_patch_concat', '')
# a task config's backbone out_type -> the pooling that gives the same feature
OUT_TYPE_POOLS = {'cls_token': 'token', 'avg_featmap': 'avg', 'cls_patch_concat': 'cls_patch_concat'}
NUM_FEATURE_LEVELS = 4
# open_clip-style names of the whole InternVL-14B-224px release (one checkpoint for C and G). ``zoo`` is the zoo
# release that holds the weights and the tokenizer; ``model`` the InternVL arguments (configs/_base_/models/
# internvl_c_14b.py). Tests swap in tiny archs through ``create_model_and_transforms(..., backbone=..., qllama=...)``.
_INTERNVL_14B = dict(backbone=dict(arch='6b-224'), qllama=dict(arch='8b'), num_query_token=96, embed_dim=768,
                     attn_pool_num_heads=16, max_txt_len=80)
INTERNVL_MODELS: Dict[str, dict] = {
    'internvl-c-14b': dict(zoo='internvl-14b-224px', model=dict(_INTERNVL_14B, mode='InternVL-C')),
    'internvl-g-14b': dict(zoo='internvl-14b-224px', model=dict(_INTERNVL_14B, mode='InternVL-G')),
}
INTERNVL_ALIASES = {'internvl-14b-224px': 'internvl-c-14b', 'internvl-c': 'internvl-c-14b',
                    'internvl-g': 'internvl-g-14b'}


class FeatureInfo(list):
    """timm's ``feature_info``: one dict per output (``num_chs``, ``reduction``, ``module``), with its helpers."""

    def channels(self):
        return [f['num_chs'] for f in self]

    def reduction(self):
        return [f['reduction'] for f in self]

    def module_name(self):
        return [f['module'] for f in self]


def _feature_info(model: InternViT, indices: Sequence[int]) -> FeatureInfo:
    return FeatureInfo(dict(num_chs=model.embed_dims, reduction=model.patch_size, module=f'blocks.{i}')
                       for i in indices)


class InternViTModel(InternViT):
    """An InternViT with timm's interface: ``forward_features`` gives the final tokens (B, 1 + h*w, C),
    ``forward_head`` pools them (``global_pool``: 'token' = the cls token, 'avg' = the mean patch token,
    'cls_patch_concat' = both concatenated, the paper's linear-probe feature, '' = no pooling) and ``forward`` is the
    two in turn (timm's ``num_classes=0``: no classifier)."""

    def __init__(self, *args, global_pool: str = 'token', **kwargs):
        if global_pool not in GLOBAL_POOLS:
            raise ConfigError(f'global_pool must be one of {GLOBAL_POOLS}, got {global_pool!r}')
        super().__init__(*args, out_type='raw', out_indices=-1, **kwargs)
        self.global_pool = global_pool
        self.num_classes = 0
        self.pretrained_cfg: dict = {}

    @property
    def default_cfg(self) -> dict:  # timm's older name
        return self.pretrained_cfg

    @property
    def num_features(self) -> int:
        return self.embed_dims * (2 if self.global_pool == 'cls_patch_concat' else 1)

    @property
    def feature_info(self) -> FeatureInfo:
        """Every block, as timm lists a ViT's (``features_only=True`` selects some)."""
        return _feature_info(self, range(self.num_layers))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return InternViT.forward(self, x)[-1]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == 'token':
            return x[:, 0]
        if self.global_pool == 'avg':
            return x[:, 1:].mean(dim=1)
        if self.global_pool == 'cls_patch_concat':
            return torch.cat([x[:, 0], x[:, 1:].mean(dim=1)], dim=-1)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class InternViTFeatures(InternViT):
    """An InternViT whose forward returns the list of (B, C, h, w) maps of ``out_indices`` (timm's
    ``features_only=True``): InternViT's own ``out_type='featmap'``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, out_type='featmap', **kwargs)
        self.pretrained_cfg: dict = {}

    @property
    def default_cfg(self) -> dict:
        return self.pretrained_cfg

    @property
    def feature_info(self) -> FeatureInfo:
        return _feature_info(self, self.out_indices)

    def forward(self, x: torch.Tensor):
        return list(super().forward(x))


def default_out_indices(num_layers: int, levels: int = NUM_FEATURE_LEVELS) -> Tuple[int, ...]:
    """``levels`` evenly spaced blocks ending with the last: (11, 23, 35, 47) for 48 blocks."""
    levels = min(levels, num_layers)
    return tuple(sorted({round((i + 1) * num_layers / levels) - 1 for i in range(levels)}))


def _key(name: str) -> str:
    key = name.strip()
    key = key[len(ZOO_SCHEME):] if key.startswith(ZOO_SCHEME) else key
    key = key.lower()
    return key.split('/', 1)[1] if key.startswith('opengvlab/') else key


def list_models() -> list:
    """Every name :func:`create_model` takes: the zoo releases, then the arch presets and their aliases."""
    return list(ZOO) + sorted(ARCH_ZOO) + sorted(set(ARCH_ALIASES) - set(ZOO))


def _unknown(name: str, choices: Sequence[str], what: str) -> ConfigError:
    close = difflib.get_close_matches(_key(name), list(choices), n=3, cutoff=0.5)
    hint = f'did you mean {", ".join(repr(c) for c in close)}? ' if close else ''
    return ConfigError(f'unknown {what} {name!r}; {hint}choose one of {", ".join(choices)}')


def resolve_name(name: str) -> Tuple[Optional[ZooModel], str]:
    """(the zoo release or None, the arch preset) of a :func:`create_model` name."""
    if not isinstance(name, str):
        raise ConfigError(f'model name must be a string, got {type(name).__name__}')
    key = _key(name)
    if key in ZOO:
        return ZOO[key], ZOO[key].arch
    if key in ARCH_ZOO or key in ARCH_ALIASES:
        return None, ARCH_ALIASES.get(key, key)
    raise _unknown(name, list_models(), 'InternViT model')


def _checkpoint(pretrained: Union[bool, str], zoo: Optional[ZooModel], name: str, choices: Sequence[str]
                ) -> Optional[str]:
    if pretrained is True:
        if zoo is None:
            raise ConfigError(f'{name!r} is an architecture preset without released weights; pretrained=True needs '
                              f'a zoo name ({", ".join(choices)}), or pass pretrained=PATH for a local checkpoint')
        return ZOO_SCHEME + zoo.name
    if not pretrained:
        return None
    if not isinstance(pretrained, str):
        raise ConfigError(f'pretrained must be True, False or a checkpoint path, got {pretrained!r}')
    return pretrained


@contextlib.contextmanager
def _quiet_random_init(random: bool):
    """Without mmengine's per-parameter "the value is the same" listing of a random initialisation (kept in a
    runner's log file, noise in a script); what loading weights logs stays."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    if random:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _init_weights(model: nn.Module, random: bool):
    with _quiet_random_init(random):
        model.init_weights()


def _build(build: Callable[[], nn.Module], what: str) -> nn.Module:
    try:
        return build()
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:  # an unknown keyword, an arch or out_indices that does not fit
        raise ConfigError(f'{what} can not be built: {e}') from e


def create_model(name: str, pretrained: Union[bool, str] = False, features_only: bool = False,
                 out_indices: Optional[Sequence[int]] = None, **kwargs) -> InternViT:
    """An InternViT by zoo name or arch preset, timm-style.

    Args:
        name: a zoo name (``internvit-6b-224px``, ..., ``internvl-14b-224px`` for the vision tower of
            InternVL-14B; see :data:`internvl_mm.zoo.ZOO`) or an arch preset / alias (``6b-224``, ``300m``,
            ``tiny``, ...); :func:`list_models` lists them.
        pretrained: ``True`` loads the zoo release (downloaded on first use), a string a local checkpoint in any
            layout InternViT reads (release folder, ``.safetensors``, ``.pth``, ``zoo://NAME``).
        features_only: forward returns the (B, C, h, w) maps of ``out_indices`` (default: 4 evenly spaced blocks).
        kwargs: InternViT's arguments (``img_size``, ``drop_path_rate``, ``with_cp``, ``frozen_stages``, ``arch``
            to override the zoo entry's architecture, ...) and ``global_pool`` ('token', 'avg', '').
    """
    zoo, arch = resolve_name(name)
    arch = kwargs.pop('arch', arch)
    released = [m.name for m in ZOO.values() if m.arch == arch] or list(ZOO)
    checkpoint = _checkpoint(pretrained, zoo, name, released)
    for key in ('out_type', 'init_cfg'):
        if key in kwargs:
            raise ConfigError(f'create_model sets {key} itself (features_only / pretrained); do not pass {key}=')
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    if features_only:
        if out_indices is None:
            out_indices = default_out_indices(_build(lambda: resolve_arch(arch), 'InternViT')['num_layers'])
        kwargs.pop('global_pool', None)
        model = _build(lambda: InternViTFeatures(arch=arch, out_indices=out_indices, init_cfg=init_cfg, **kwargs),
                       f'InternViT {name!r}')
    else:
        if out_indices is not None:
            raise ConfigError('out_indices selects feature maps: pass it with features_only=True')
        model = _build(lambda: InternViTModel(arch=arch, init_cfg=init_cfg, **kwargs), f'InternViT {name!r}')
    _init_weights(model, random=not checkpoint)
    model.pretrained_cfg = make_pretrained_cfg(model.img_size, name=zoo.name if zoo else _key(name),
                                               hf_hub_id=zoo.repo_id if zoo else None, file=checkpoint)
    return model


# -- InternVL and configs ------------------------------------------------------------------------------------------
def _merge(spec: dict, overrides: dict) -> dict:
    """``spec`` updated by ``overrides``, dict values (``backbone``, ``qllama``) merged one level deep."""
    spec = copy.deepcopy(spec)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = dict(spec[key], **value)
        else:
            spec[key] = value
    return spec


def internvl_name(name: str) -> Optional[str]:
    """The :data:`INTERNVL_MODELS` key of ``name`` (or an alias), else None."""
    key = _key(name)
    key = INTERNVL_ALIASES.get(key, key)
    return key if key in INTERNVL_MODELS else None


def _create_internvl(key: str, pretrained: Union[bool, str], overrides: dict) -> nn.Module:
    entry = INTERNVL_MODELS[key]
    zoo = ZOO[entry['zoo']]
    checkpoint = _checkpoint(pretrained, zoo, key, [zoo.name])
    spec = _merge(entry['model'], overrides)
    if checkpoint:
        spec['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)
    model = _build(lambda: MODELS.build(dict(type='InternVL', **spec)), f'InternVL {key!r}')
    _init_weights(model, random=not checkpoint)
    if pretrained is True and not spec.get('tokenizer'):
        from internvl_mm.zoo import resolve
        model.tokenizer_path = resolve(zoo.name)  # the release folder holds the tokenizer (cached by now)
    elif isinstance(pretrained, str) and not spec.get('tokenizer') and osp.isdir(pretrained):
        model.tokenizer_path = pretrained
    model.pretrained_cfg = make_pretrained_cfg(model.vision_model.img_size, name=key, hf_hub_id=zoo.repo_id,
                                               file=checkpoint, first_conv='vision_model.patch_embed.proj')
    return model


def _load_config(path: str):
    from mmengine.config import Config
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files ...
        raise ConfigError(f'config {path} can not be read: {type(e).__name__}: {e}') from e
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    if not isinstance(cfg.get('model'), dict):
        raise ConfigError(f'config {path} has no model')
    return cfg


def _create_from_config(path: str, pretrained: Union[bool, str], overrides: dict) -> nn.Module:
    """The config's InternVL, or the InternViT backbone of any other model (its features are what a probe or a
    detector reads)."""
    cfg = _load_config(path)
    model_cfg = cfg.model.to_dict()
    if pretrained is True:
        raise ConfigError(f'config {path} names no zoo release; pass pretrained=PATH (a checkpoint of the config)')
    mean, std = preprocessor_stats(model_cfg.get('data_preprocessor') or cfg.get('data_preprocessor'))
    name = osp.splitext(osp.basename(path))[0]
    if model_cfg.get('type') == 'InternVL':
        spec = _merge(model_cfg, overrides)
        if pretrained:
            spec['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
        model = _build(lambda: MODELS.build(spec), f'the model of {path}')
        _init_weights(model, random=not spec.get('init_cfg'))
        img_size, first_conv = model.vision_model.img_size, 'vision_model.patch_embed.proj'
        file = (spec.get('init_cfg') or {}).get('checkpoint')
    else:
        backbone = model_cfg.get('backbone') or {}
        if backbone.get('type') not in ('InternViT', 'mmpretrain.InternViT'):
            raise ConfigError(f'config {path}: its model is neither an InternVL nor built on an InternViT backbone')
        kept = {k: v for k, v in backbone.items() if k not in ('type', 'out_type', 'out_indices', 'init_cfg')}
        arch = kept.pop('arch', '6b-224')
        kept['global_pool'] = OUT_TYPE_POOLS.get(backbone.get('out_type'), 'token')  # the feature the head reads
        if pretrained:  # a task checkpoint keeps the backbone under 'backbone.'
            init_cfg = dict(type='Pretrained', checkpoint=pretrained, prefix=_backbone_prefix(pretrained))
        else:
            init_cfg = backbone.get('init_cfg')  # e.g. the probes' zoo:// weights
        model = _build(lambda: InternViTModel(arch=arch, init_cfg=init_cfg, **dict(kept, **overrides)),
                       f'the backbone of {path}')
        _init_weights(model, random=not init_cfg)
        img_size, first_conv = model.img_size, 'patch_embed.proj'
        file = (init_cfg or {}).get('checkpoint')
    model.pretrained_cfg = make_pretrained_cfg(img_size, name=name, file=file or None, mean=mean, std=std,
                                               first_conv=first_conv)
    return model


def _backbone_prefix(checkpoint: str, prefix: str = 'backbone.') -> Optional[str]:
    """``prefix`` if the checkpoint keeps keys under it (a task model's checkpoint), else None (an InternViT's)."""
    from internvl_mm.weights import open_state_dict
    return prefix if any(k.startswith(prefix) for k in open_state_dict(checkpoint)) else None


def create_model_and_transforms(name: str, pretrained: Union[bool, str] = False, **kwargs
                                ) -> Tuple[nn.Module, Callable]:
    """(model, preprocess), open_clip-style; ``preprocess`` maps a PIL image to the normalised (3, H, W) tensor at
    the model's input size (short-edge bicubic resize, centre crop), as :func:`create_transform` builds it from
    ``model.pretrained_cfg``.

    ``name``: ``internvl-c-14b`` / ``internvl-g-14b`` (InternVL-14B-224px as InternVL-C or -G: ``encode_image``,
    ``encode_text``; with ``pretrained=True`` its weights and tokenizer come from the zoo), any
    :func:`create_model` name (an InternViT), or a config file (its InternVL, or its InternViT backbone;
    ``pretrained=PATH``). ``kwargs`` override the model's arguments (``backbone=dict(arch='tiny')`` is merged into
    the backbone's).
    """
    if isinstance(name, str) and name.endswith('.py'):
        if not osp.isfile(name):
            raise ConfigError(f'config file {name} does not exist')
        model = _create_from_config(name, pretrained, kwargs)
    elif isinstance(name, str) and internvl_name(name):
        model = _create_internvl(internvl_name(name), pretrained, kwargs)
    else:
        try:
            model = create_model(name, pretrained=pretrained, **kwargs)
        except ConfigError as e:
            if 'unknown InternViT model' not in str(e):
                raise
            raise _unknown(name, list(INTERNVL_MODELS) + list_models(), 'model') from None
    return model, create_transform(model.pretrained_cfg)

"""The paper's classification probes on InternViT features, as an mmpretrain head."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmpretrain.models.heads import LinearClsHead

from internvl_mm.registry import MODELS
from .attention_pooling import AttentionPooling


@MODELS.register_module()
class ProbeClsHead(LinearClsHead):
    """BatchNorm -> Linear on a feature vector, optionally after attention pooling of the tokens.

    - Linear probe: backbone ``out_type='cls_patch_concat'`` (cls token ++ mean patch token, 2C), this head with
      ``in_channels=2C``.
    - Attention-pooling probe: backbone ``out_type='raw'`` (all tokens), this head with
      ``attention_pooling=dict(num_heads=...)`` and ``in_channels=C``.
    The norm is BatchNorm1d with eps 1e-6 (``sync_bn='torch'`` in a config makes it SyncBN on several GPUs); the
    classifier is initialised from N(0, 0.01).
    """

    def __init__(self, num_classes: int, in_channels: int, attention_pooling: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN1d', eps=1e-6),
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(num_classes, in_channels, init_cfg=init_cfg, **kwargs)
        self.pool = AttentionPooling(in_channels, **attention_pooling) if attention_pooling is not None else None
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        if self.pool is not None:
            x = self.pool(x)
        return self.norm(x)

"""The paper's linear-probe segmentation head: BatchNorm then a 1x1 classifier on one ViT map."""
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from internvl_mm.registry import MODELS


@MODELS.register_module()
class LinearProbeSegHead(BaseDecodeHead):
    """An FCN head without convs: ``norm_cfg`` BatchNorm (SyncBN on several GPUs) over ``in_channels``, dropout,
    1x1 conv to the classes. ``channels`` is ``in_channels``."""

    def __init__(self, in_channels: int, norm_cfg: dict = dict(type='BN', requires_grad=True), **kwargs):
        super().__init__(in_channels=in_channels, channels=in_channels, norm_cfg=norm_cfg, **kwargs)
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]

    def forward(self, inputs):
        return self.cls_seg(self.norm(self._transform_inputs(inputs)))

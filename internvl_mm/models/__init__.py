from .backbones import InternViT, convert_checkpoint_key
from .backbones.intern_vit import Block
from .heads import AttentionPooling, LinearProbeSegHead, ProbeClsHead
from .necks import ViTFeaturePyramid
from . import language, pretrainers  # noqa: F401,E402  (QLLaMA; InternVL-C/G)
from .language.qllama import QLLaMADecoderLayer  # noqa: E402

# The repeated blocks that strategies shard (FSDP units) and checkpoint: everything else is small.
TRANSFORMER_BLOCKS = (Block, QLLaMADecoderLayer)

__all__ = ['AttentionPooling', 'InternViT', 'TRANSFORMER_BLOCKS', 'LinearProbeSegHead', 'ProbeClsHead', 'ViTFeaturePyramid',
           'convert_checkpoint_key']

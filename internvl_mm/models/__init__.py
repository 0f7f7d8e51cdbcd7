from .backbones import InternViT, convert_checkpoint_key
from .heads import AttentionPooling, ProbeClsHead

__all__ = ['AttentionPooling', 'InternViT', 'ProbeClsHead', 'convert_checkpoint_key']

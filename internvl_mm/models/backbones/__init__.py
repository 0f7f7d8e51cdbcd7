from .intern_vit import InternViT, convert_checkpoint_key

__all__ = ['InternViT', 'convert_checkpoint_key']

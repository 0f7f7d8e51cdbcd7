from .intern_vit import InternViT, find_internvit
from .intern_vit_checkpoint import convert_checkpoint_key, to_release_key, to_release_state_dict

__all__ = ['InternViT', 'convert_checkpoint_key', 'find_internvit', 'to_release_key', 'to_release_state_dict']

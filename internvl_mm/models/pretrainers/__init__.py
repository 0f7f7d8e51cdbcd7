from .internvl import STAGE2_NEW_PARTS, STAGE2_TRAINABLE, InternVL, convert_internvl_key, internvl_key_to_official
from .losses import contrastive_loss, gather_with_grad, sample_hard_negatives
from .prompts import resolve_class_names, resolve_templates

__all__ = ['InternVL', 'STAGE2_NEW_PARTS', 'STAGE2_TRAINABLE', 'contrastive_loss', 'convert_internvl_key',
           'gather_with_grad', 'internvl_key_to_official', 'resolve_class_names', 'resolve_templates',
           'sample_hard_negatives']

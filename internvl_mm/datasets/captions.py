"""Caption normalisation of the official retrieval evaluation (InternVL's clip_benchmark ``pre_caption``).

The official Flickr30K / COCO / Flickr30K-CN / COCO-CN retrieval runs every caption through it before tokenising:
lower case, the ASCII punctuation ``. ! " ( ) * # : ; ~`` replaced by a space, runs of whitespace collapsed, ends
stripped, at most 50 space-separated words. Full-width (Chinese / Japanese) punctuation is left as it is, as there.
XTD (multilingual COCO) is evaluated without it. A caption tokenised another way than the official one is a
different text for the model, so retrieval numbers move by points (the Flickr30K-CN configs put this step first).
"""
import re

from mmcv.transforms import BaseTransform

from internvl_mm.registry import TRANSFORMS

_PUNCTUATION = re.compile(r'([.!"()*#:;~])')
_SPACES = re.compile(r'\s{2,}')


def normalise_caption(caption: str, max_words: int = 50) -> str:
    """One caption, normalised as the official evaluation does (see the module doc)."""
    caption = _PUNCTUATION.sub(' ', caption.lower())
    caption = _SPACES.sub(' ', caption).rstrip('\n').strip(' ')
    words = caption.split(' ')
    return ' '.join(words[:max_words]) if len(words) > max_words else caption


@TRANSFORMS.register_module()
class NormaliseCaptions(BaseTransform):
    """Apply :func:`normalise_caption` to every entry of ``captions`` (place it before ``TokenizeCaption``)."""

    def __init__(self, max_words: int = 50):
        if max_words < 1:
            raise ValueError(f'max_words must be >= 1, got {max_words}')
        self.max_words = max_words

    def transform(self, results: dict) -> dict:
        results['captions'] = [normalise_caption(c, self.max_words) for c in results['captions']]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_words={self.max_words})'

"""What a model expects of its input (timm's ``pretrained_cfg``) and the transform that gives it.

One source of truth for the mean / std: every InternViT and InternVL-14B release normalises with the ImageNet
statistics (timm's ``IMAGENET_DEFAULT_MEAN`` / ``IMAGENET_DEFAULT_STD``), which the configs' data preprocessors
spell in 0-255 units (``tests/apis/test_create_model.py`` checks that they agree). A config with its own
statistics (the shapes demo) gives them through its ``data_preprocessor``.
"""
from typing import Callable, Optional, Sequence

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

DEFAULT_MEAN = tuple(IMAGENET_DEFAULT_MEAN)
DEFAULT_STD = tuple(IMAGENET_DEFAULT_STD)
INTERPOLATION = 'bicubic'
# The evaluation pipelines resize the short edge to the model's size and take the centre crop of that size.
CROP_PCT = 1.0


def make_pretrained_cfg(img_size: int, *, name: str, hf_hub_id: Optional[str] = None, file: Optional[str] = None,
                        mean: Sequence[float] = DEFAULT_MEAN, std: Sequence[float] = DEFAULT_STD,
                        num_classes: int = 0, first_conv: str = 'patch_embed.proj') -> dict:
    """timm's ``pretrained_cfg`` keys for a model of input size ``img_size``; ``file`` is where its weights came
    from (``zoo://NAME``, a path; None for a random initialisation)."""
    return dict(architecture=name, hf_hub_id=hf_hub_id, file=file, input_size=(3, img_size, img_size),
                interpolation=INTERPOLATION, crop_pct=CROP_PCT, crop_mode='center', mean=tuple(mean),
                std=tuple(std), num_classes=num_classes, first_conv=first_conv, classifier=None,
                license='mit')


def preprocessor_stats(data_preprocessor: Optional[dict]):
    """(mean, std) in 0-1 units from an mmengine data preprocessor config (0-255 units), or the defaults."""
    if not data_preprocessor or 'mean' not in data_preprocessor:
        return DEFAULT_MEAN, DEFAULT_STD
    return (tuple(float(m) / 255 for m in data_preprocessor['mean']),
            tuple(float(s) / 255 for s in data_preprocessor['std']))


class _ToRGB:
    """PIL image -> RGB (grey, palette and RGBA images as the pipelines read them); picklable, unlike a lambda."""

    def __call__(self, image):
        return image.convert('RGB')

    def __repr__(self) -> str:
        return 'ToRGB()'


def create_transform(pretrained_cfg: dict) -> Callable:
    """The evaluation transform of ``pretrained_cfg``: PIL image -> (3, H, W) float tensor, normalised.

    RGB, short edge resized to ``input_size`` / ``crop_pct`` (bicubic, PIL), centre crop, ``ToTensor``,
    ``Normalize(mean, std)`` — what the zero-shot and probe evaluation configs do.
    """
    from torchvision import transforms as T
    _, height, width = pretrained_cfg['input_size']
    crop_pct = pretrained_cfg.get('crop_pct', CROP_PCT)
    size = int(round(min(height, width) / crop_pct))
    return T.Compose([
        _ToRGB(),
        T.Resize(size, interpolation=T.InterpolationMode(pretrained_cfg.get('interpolation', INTERPOLATION))),
        T.CenterCrop((height, width)),
        T.ToTensor(),
        T.Normalize(pretrained_cfg['mean'], pretrained_cfg['std']),
    ])


def stack(images, transform: Callable) -> torch.Tensor:
    """A batch (N, 3, H, W) of PIL images through ``transform``."""
    return torch.stack([transform(image) for image in images])

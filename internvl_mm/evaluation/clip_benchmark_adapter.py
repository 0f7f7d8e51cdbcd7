"""InternVL-C / -G as a clip_benchmark model, so published clip_benchmark tables can be reproduced and compared.

clip_benchmark (LAION's, which InternVL's official evaluation forks) loads a model through
``clip_benchmark.models.load_clip(model_type, model_name, pretrained, cache_dir, device)``, a function of
``TYPE2FUNC[model_type]`` returning ``(model, transform, tokenizer)``; its metrics then call
``model.encode_image(images)`` on batches of ``transform(PIL image)``, ``tokenizer(list_of_texts)`` and
``model.encode_text(ids)``, normalise both, and score with ``100 * image @ text.T`` (classification) or
``text @ image.T`` (retrieval). :func:`register` adds ``model_type='internvl_mm'`` with:

- ``model_name``: an internvl_mm config (``configs/pretraining/zero-shot_*.py`` / ``retrieval_*.py``); it gives the
  architecture, the mode (InternVL-C or -G), the tokenizer folder and the test pipeline;
- ``pretrained``: any checkpoint ``InternVL.load_pretrained`` reads (a tools/train.py checkpoint, the release
  folder, safetensors).

The transform runs the image steps of the config's test pipeline on the PIL image (as BGR, as mmcv decodes it)
and the model applies the config's data preprocessor, so an image is preprocessed exactly as ``tools/test.py``
does; the tokenizer prefixes ``summarize:`` and pads with 0 as the release expects.

    >>> from internvl_mm.evaluation.clip_benchmark_adapter import register
    >>> register()  # then: clip_benchmark eval --model_type internvl_mm --model CONFIG --pretrained CKPT ...
"""
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from internvl_mm.errors import ConfigError
from internvl_mm.models.language.tokenizer import ITC_PREFIX, InternVLTokenizer

MODEL_TYPE = 'internvl_mm'
# pipeline steps the transform leaves out: reading files, captions, packing (the transform gets a decoded image)
SKIPPED_STEPS = ('LoadImageFromFile', 'LoadImageFromFileOrTar', 'TokenizeCaption', 'NormaliseCaptions',
                 'PackInputs', 'SeedFromSampleIndex')


class ClipBenchmarkTokenizer:
    """``tokenizer(texts)`` -> (N, max_length) ids of ``<s> summarize:TEXT </s>``, right-padded with 0."""

    def __init__(self, folder: str, max_length: int = 80, prefix: str = ITC_PREFIX):
        self.tokenizer = InternVLTokenizer(folder, max_length)
        self.prefix = prefix

    def __call__(self, texts: Union[str, Sequence[str]]) -> torch.Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self.tokenizer.encode(texts, prefix=self.prefix)[0]


class ImagePipelineTransform:
    """PIL image -> (3, H, W) uint8 tensor in BGR: the image steps of an internvl_mm test pipeline."""

    def __init__(self, pipeline: Sequence[dict]):
        from mmcv.transforms import Compose
        from mmengine.registry import init_default_scope

        from internvl_mm.registry import TRANSFORMS
        init_default_scope('mmpretrain')
        steps = [dict(s) for s in pipeline if str(s['type']).split('.')[-1] not in SKIPPED_STEPS]
        self.steps = [s['type'] for s in steps]
        self.pipeline = Compose([TRANSFORMS.build(s) for s in steps])

    def __call__(self, image) -> torch.Tensor:
        rgb = np.asarray(image.convert('RGB'))
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        out = self.pipeline(dict(img=bgr, img_shape=bgr.shape[:2], ori_shape=bgr.shape[:2]))
        return torch.from_numpy(np.ascontiguousarray(out['img'].transpose(2, 0, 1)))


class ClipBenchmarkModel(nn.Module):
    """An InternVL with clip_benchmark's interface: ``encode_image`` (uint8 BGR batches from
    :class:`ImagePipelineTransform`, normalised by the model's data preprocessor) and ``encode_text``."""

    def __init__(self, model):
        super().__init__()
        self.model = model.eval()

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        batch = self.model.data_preprocessor(dict(inputs=list(images)), False)['inputs']
        return self.model.encode_visual(batch)

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(ids.to(self.model.text_projection.device))


def load_internvl_mm(model_name: str, pretrained: Optional[str] = None, cache_dir: Optional[str] = None,
                     device: Union[str, torch.device] = 'cpu'):
    """clip_benchmark's loader signature: ``model_name`` a config, ``pretrained`` a checkpoint ->
    (model, transform, tokenizer)."""
    from mmengine.config import Config

    import internvl_mm.integrations.pretraining  # noqa: F401  (registers the pretraining task's modules)
    from internvl_mm.registry import MODELS
    cfg = Config.fromfile(model_name)
    if cfg.model.get('type') != 'InternVL':
        raise ConfigError(f'{model_name} is not an InternVL config (model.type={cfg.model.get("type")!r}); use a '
                          f'configs/pretraining/zero-shot_* or retrieval_* config')
    if not cfg.model.get('tokenizer'):
        raise ConfigError(f'{model_name} names no tokenizer folder (model.tokenizer); set it to the release folder')
    model = MODELS.build(cfg.model)
    if pretrained:
        model.load_pretrained(pretrained)
    model = model.to(device).eval()
    transform = ImagePipelineTransform(cfg.test_dataloader.dataset.pipeline)
    tokenizer = ClipBenchmarkTokenizer(cfg.model.tokenizer, cfg.model.get('max_txt_len', 80))
    return ClipBenchmarkModel(model), transform, tokenizer


def register() -> Callable:
    """Add ``model_type='internvl_mm'`` to clip_benchmark's loaders (idempotent); returns the loader."""
    try:
        import clip_benchmark.models as cb_models
    except ImportError as error:
        raise ConfigError('clip_benchmark is not installed: pip install clip-benchmark') from error
    cb_models.TYPE2FUNC[MODEL_TYPE] = load_internvl_mm
    if MODEL_TYPE not in cb_models.MODEL_TYPES:
        cb_models.MODEL_TYPES.append(MODEL_TYPE)  # the same list object the CLI's --model_type choices hold
    return load_internvl_mm


def clip_benchmark_templates(templates: Sequence[str]) -> List[str]:
    """internvl_mm templates (``{}``) in clip_benchmark 1.6's placeholder (``{c}``)."""
    return [t.replace('{}', '{c}') for t in templates]

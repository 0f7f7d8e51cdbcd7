"""Image <-> text retrieval with InternVL-C / InternVL-G through mmpretrain's retrieval inferencers.

mmpretrain 1.2's ``ImageToTextRetrievalInferencer`` and ``TextToImageRetrievalInferencer`` are written for BLIP:
they call ``model.extract_feat(images=...)`` / ``extract_feat(data_samples=...)`` and ``model.predict_all``, and
tokenise inside the test pipeline. InternVL's embeddings are ``encode_image`` / ``encode_text`` (L2-normalised, the
image embedding of the model's ``mode``: InternVL-C or InternVL-G) of token ids with the contrastive prefix
``summarize:``. The subclasses here keep mmpretrain's construction (a config file or ``Config`` and any checkpoint
form: a ``tools/train.py`` checkpoint, a release folder, ``zoo://``), call signature, ``topk`` / ``show_dir`` and
result format, and replace the four steps that talk to the model: the pipelines, the prototype (gallery)
embeddings, the query embeddings and the scores (cosine similarities, ``image @ text.T``).

    >>> inferencer = ImageToTextRetrievalInferencer(CONFIG, prototype=['a red circle', ...], pretrained=CKPT)
    >>> inferencer('image.png', topk=3)[0]  # [{'match_score': tensor(0.41), 'sample_idx': 2, 'text': ...}, ...]
"""
import os.path as osp
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

import mmengine
import torch
from mmengine.dataset import BaseDataset, Compose, default_collate
from mmpretrain.apis import ImageToTextRetrievalInferencer as _MmpretrainImageToText
from mmpretrain.apis import TextToImageRetrievalInferencer as _MmpretrainTextToImage
from mmpretrain.structures import DataSample

from internvl_mm.errors import ConfigError, MissingFileError
from internvl_mm.models.language.tokenizer import ITC_PREFIX

# test-pipeline steps that read files or captions: the inferencers load images themselves and tokenise the texts
LOADING_STEPS = ('LoadImageFromFile', 'LoadImageFromFileOrTar')
TEXT_STEPS = ('TokenizeCaption', )
TRAINING_STEPS = ('SeedFromSampleIndex', )
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def image_pipeline_config(pipeline: Sequence[dict]) -> List[dict]:
    """The image part of an InternVL test pipeline: without loading and tokenising, packing the image alone."""
    steps = []
    for step in pipeline:
        kind = str(step['type']).split('.')[-1]
        if kind in LOADING_STEPS + TEXT_STEPS + TRAINING_STEPS:
            continue
        step = dict(step)
        if kind == 'PackInputs':
            step['algorithm_keys'] = []
        steps.append(step)
    return steps


def _check_model(model):
    if not (hasattr(model, 'encode_image') and hasattr(model, 'encode_text') and hasattr(model, 'tokenizer')):
        raise ConfigError(f'internvl_mm\'s retrieval inferencers need an InternVL model (type="InternVL"), the config '
                          f'builds {type(model).__name__}; for BLIP-style models use mmpretrain\'s own inferencers')


class _InternVLRetrieval:
    """What both directions share: the image pipeline, text and image embeddings."""

    def _init_pipeline(self, cfg) -> Tuple[Callable, Callable]:
        _check_model(self.model)
        from mmpretrain.registry import TRANSFORMS
        steps = [TRANSFORMS.build(t) for t in image_pipeline_config(cfg.test_dataloader.dataset.pipeline)]
        return Compose(steps), self.tokenize

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Token ids of ``summarize:TEXT`` (what TokenizeCaption gives the contrastive text tower)."""
        return self.model.tokenizer.encode(list(texts), prefix=ITC_PREFIX)[0]

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        return self.model.encode_text(self.tokenize(texts).to(device))

    def embed_image_batch(self, data: dict) -> torch.Tensor:
        data = self.model.data_preprocessor(data, False)
        return self.model.encode_image(data['inputs'])

    @staticmethod
    def scored(scores: torch.Tensor) -> List[DataSample]:
        samples = []
        for row in scores:
            sample = DataSample()
            sample.set_field(row.cpu(), 'pred_score', field_type='data')
            samples.append(sample)
        return samples

    def _load_cache(self, cache):
        if cache is not None and Path(cache).exists():
            self.prototype = torch.load(cache, map_location='cpu', weights_only=True)
            return True
        return False

    def _save_cache(self, cache):
        if cache is not None and not Path(cache).exists():
            self.save_prototype(cache)


class ImageToTextRetrievalInferencer(_InternVLRetrieval, _MmpretrainImageToText):
    """mmpretrain's image -> text retrieval for InternVL-C/G: ``prototype`` is the gallery of texts (a list, or
    a file with one text per line); each query image returns its ``topk`` texts by cosine similarity."""

    def _prepare_prototype(self, prototype, cache=None, batch_size=8):
        if isinstance(prototype, str):
            if not osp.isfile(prototype):
                raise MissingFileError(f'prototype {prototype} is not a file; give a list of texts or a file with '
                                       f'one text per line')
            texts = mmengine.list_from_file(prototype)
        elif mmengine.is_seq_of(prototype, str):
            texts = list(prototype)
        else:
            raise ConfigError(f'the prototype of image-to-text retrieval is a list of texts or a text file, got '
                              f'{type(prototype).__name__}')
        if not texts:
            raise ConfigError('the prototype (text gallery) is empty')
        if not self._load_cache(cache):
            with torch.no_grad():
                embeds = [self.embed_texts(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
            self.prototype = {'text_embeds': torch.cat(embeds)}
            self._save_cache(cache)
        return texts

    @torch.no_grad()
    def forward(self, data: dict, **kwargs):
        images = self.embed_image_batch(data)
        return self.scored(images @ self.prototype['text_embeds'].to(images).t())


class TextToImageRetrievalInferencer(_InternVLRetrieval, _MmpretrainTextToImage):
    """mmpretrain's text -> image retrieval for InternVL-C/G: ``prototype`` is the gallery of images (a folder, a
    list of image paths, a dataset or its config); each query text returns its ``topk`` images."""

    def _prepare_prototype(self, prototype, cache=None, batch_size=8):
        loading = [dict(type='LoadImageFromFile'), self.img_pipeline]
        if isinstance(prototype, str):
            if not osp.isdir(prototype):
                raise MissingFileError(f'prototype {prototype} is not a folder of images')
            prototype = sorted(osp.join(prototype, p) for p in mmengine.scandir(prototype, IMAGE_SUFFIXES,
                                                                                recursive=True))
        if isinstance(prototype, dict):
            from mmpretrain.registry import DATASETS
            prototype = DATASETS.build(dict(prototype, pipeline=prototype.get('pipeline', loading)))
        if mmengine.is_seq_of(prototype, str):
            dataset = BaseDataset(lazy_init=True, serialize_data=False, pipeline=loading)
            dataset.data_list = [dict(sample_idx=i, img_path=p) for i, p in enumerate(prototype)]
            dataset._fully_initialized = True
        elif isinstance(prototype, BaseDataset):
            dataset = prototype
        else:
            raise ConfigError(f'the prototype of text-to-image retrieval is a folder, a list of image paths or a '
                              f'dataset, got {type(prototype).__name__}')
        if len(dataset) == 0:
            raise ConfigError('the prototype (image gallery) has no images')
        if not self._load_cache(cache):
            embeds = []
            with torch.no_grad():
                for start in range(0, len(dataset), batch_size):
                    batch = default_collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
                    embeds.append(self.embed_image_batch(batch))
            self.prototype = {'image_embeds': torch.cat(embeds)}
            self._save_cache(cache)
        return dataset

    def preprocess(self, inputs: List[str], batch_size: int = 1):
        yield from self._get_chunk_data(iter(inputs), batch_size)

    @torch.no_grad()
    def forward(self, data: list, **kwargs):
        texts = self.embed_texts(data)
        return self.scored(texts @ self.prototype['image_embeds'].to(texts).t())

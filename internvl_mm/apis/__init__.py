"""The library entry points above the models and the zoo, as timm and open_clip offer them:
:func:`create_model`, :func:`create_model_and_transforms`, :func:`get_tokenizer`, and feature extraction into
resumable shards (:func:`extract_features`, ``tools/extract_features.py``), and mmpretrain's image <-> text retrieval
inferencers for InternVL-C/G (:mod:`.retrieval`, imported on first use: it imports mmpretrain's APIs). Nothing below
this package imports it.
"""
from .factory import (INTERNVL_MODELS, FeatureInfo, InternViTFeatures, InternViTModel, create_model,
                      create_model_and_transforms, default_out_indices, list_models)
from .features import extract_features, load_features
from .pretrained import DEFAULT_MEAN, DEFAULT_STD, create_transform
from .tokenizer import ITCTokenizer, get_tokenizer

__all__ = [
    'INTERNVL_MODELS', 'FeatureInfo', 'InternViTFeatures', 'InternViTModel', 'create_model',
    'create_model_and_transforms', 'default_out_indices', 'list_models', 'extract_features', 'load_features',
    'DEFAULT_MEAN', 'DEFAULT_STD', 'create_transform', 'ITCTokenizer', 'get_tokenizer',
    'ImageToTextRetrievalInferencer', 'TextToImageRetrievalInferencer'
]
RETRIEVAL = ('ImageToTextRetrievalInferencer', 'TextToImageRetrievalInferencer')


def __getattr__(name):
    if name in RETRIEVAL:
        from . import retrieval
        return getattr(retrieval, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

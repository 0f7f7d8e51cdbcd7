"""Class names and prompt templates for zero-shot classification, by name or given inline.

``class_names`` / ``templates`` in a config are a list, a text file (one entry per line) or one of the names here:
``'imagenet'`` is the curated ImageNet-1K name list of OpenAI CLIP / clip_benchmark (shipped by mmpretrain as
``IMAGENET_SIMPLE_CATEGORIES``: 'tench', 'goldfish', ..., 'kite (bird of prey)'), ``'openai_imagenet'`` the 80
CLIP ImageNet templates that InternVL's zero-shot evaluation averages over, ``'kinetics'`` CLIP's 28 Kinetics-700
templates (CLIP's prompts.md; InternVL released no video evaluation code, so this prompt set is our choice).

``'clip_benchmark:LANG'`` (LANG one of cn, jp, ar, it, en) reads the ImageNet-1K class names or templates of that
language from the data files of the installed clip_benchmark package (``LANG_classnames.json`` /
``LANG_zeroshot_classification_templates.json``, key ``imagenet1k``): the files InternVL's multilingual ImageNet
evaluation uses. No translation is made here; without clip_benchmark, point ``class_names`` / ``templates`` at your
own files (one entry a line).
"""
import json
import os.path as osp
from typing import List, Sequence, Union

OPENAI_IMAGENET_TEMPLATES = (
    'a bad photo of a {}.', 'a photo of many {}.', 'a sculpture of a {}.', 'a photo of the hard to see {}.',
    'a low resolution photo of the {}.', 'a rendering of a {}.', 'graffiti of a {}.', 'a bad photo of the {}.',
    'a cropped photo of the {}.', 'a tattoo of a {}.', 'the embroidered {}.', 'a photo of a hard to see {}.',
    'a bright photo of a {}.', 'a photo of a clean {}.', 'a photo of a dirty {}.', 'a dark photo of the {}.',
    'a drawing of a {}.', 'a photo of my {}.', 'the plastic {}.', 'a photo of the cool {}.',
    'a close-up photo of a {}.', 'a black and white photo of the {}.', 'a painting of the {}.',
    'a painting of a {}.', 'a pixelated photo of the {}.', 'a sculpture of the {}.', 'a bright photo of the {}.',
    'a cropped photo of a {}.', 'a plastic {}.', 'a photo of the dirty {}.', 'a jpeg corrupted photo of a {}.',
    'a blurry photo of the {}.', 'a photo of the {}.', 'a good photo of the {}.', 'a rendering of the {}.',
    'a {} in a video game.', 'a photo of one {}.', 'a doodle of a {}.', 'a close-up photo of the {}.',
    'a photo of a {}.', 'the origami {}.', 'the {} in a video game.', 'a sketch of a {}.', 'a doodle of the {}.',
    'a origami {}.', 'a low resolution photo of a {}.', 'the toy {}.', 'a rendition of the {}.',
    'a photo of the clean {}.', 'a photo of a large {}.', 'a rendition of a {}.', 'a photo of a nice {}.',
    'a photo of a weird {}.', 'a blurry photo of a {}.', 'a cartoon {}.', 'art of a {}.', 'a sketch of the {}.',
    'a embroidered {}.', 'a pixelated photo of a {}.', 'itap of the {}.', 'a jpeg corrupted photo of the {}.',
    'a good photo of a {}.', 'a plushie {}.', 'a photo of the nice {}.', 'a photo of the small {}.',
    'a photo of the weird {}.', 'the cartoon {}.', 'art of the {}.', 'a drawing of the {}.',
    'a photo of the large {}.', 'a black and white photo of a {}.', 'the plushie {}.', 'a dark photo of a {}.',
    'itap of a {}.', 'graffiti of the {}.', 'a toy {}.', 'itap of my {}.', 'a photo of a cool {}.',
    'a photo of a small {}.', 'a tattoo of the {}.',)
KINETICS_TEMPLATES = tuple(f'{kind} of {who}{{}}.' for kind in ('a photo', 'a video', 'a example', 'a demonstration')
                           for who in ('', 'a person ', 'a person using ', 'a person doing ', 'a person during ',
                                       'a person performing ', 'a person practicing '))
TEMPLATE_SETS = {'openai_imagenet': OPENAI_IMAGENET_TEMPLATES, 'kinetics': KINETICS_TEMPLATES,
                 'simple': ('a photo of a {}.', )}
CLIP_BENCHMARK_PREFIX = 'clip_benchmark:'


def clip_benchmark_entries(spec: str, kind: str, dataset: str = 'imagenet1k') -> List[str]:
    """Class names (``kind='classnames'``) or templates (``'zeroshot_classification_templates'``) of one language
    from the installed clip_benchmark package; its ``{c}`` placeholder becomes ``{}``."""
    language = spec[len(CLIP_BENCHMARK_PREFIX):]
    try:
        import clip_benchmark.datasets as cb_datasets
    except ImportError as error:
        raise ValueError(f'{spec!r} reads the class names / templates from clip_benchmark, which is not installed; '
                         f'pip install clip-benchmark, or give a file with one entry a line') from error
    path = osp.join(osp.dirname(cb_datasets.__file__), f'{language}_{kind}.json')
    if not osp.isfile(path):
        raise ValueError(f'clip_benchmark has no {kind} for language {language!r} ({path} is missing)')
    with open(path, encoding='utf-8') as f:
        table = json.load(f)
    entries = table.get(dataset) if isinstance(table, dict) else table
    if not entries:
        raise ValueError(f'{path} has no {dataset!r} entry')
    return [e.replace('{c}', '{}') for e in entries]


def _class_name_sets():
    from mmpretrain.datasets.categories import IMAGENET_SIMPLE_CATEGORIES
    return {'imagenet': IMAGENET_SIMPLE_CATEGORIES}


def _read_lines(path: str) -> List[str]:
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def resolve_class_names(spec: Union[str, Sequence[str]]) -> List[str]:
    """A list of class names from a list, a known name ('imagenet') or a text file with one name a line."""
    if isinstance(spec, str) and spec.startswith(CLIP_BENCHMARK_PREFIX):
        return clip_benchmark_entries(spec, 'classnames')
    if isinstance(spec, str):
        sets = _class_name_sets()
        if spec in sets:
            return list(sets[spec])
        if osp.isfile(spec):
            return _read_lines(spec)
        raise ValueError(f'zero-shot class_names {spec!r} is neither a known list {sorted(sets)} nor a file')
    names = list(spec)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError('zero-shot class_names must be a non-empty list of non-empty strings')
    return names


def resolve_templates(spec: Union[str, Sequence[str]]) -> List[str]:
    """Prompt templates (each with one ``{}`` for the class name) from a list, a known set or a file."""
    if isinstance(spec, str) and spec.startswith(CLIP_BENCHMARK_PREFIX):
        templates = clip_benchmark_entries(spec, 'zeroshot_classification_templates')
    elif isinstance(spec, str):
        if spec in TEMPLATE_SETS:
            templates = list(TEMPLATE_SETS[spec])
        elif osp.isfile(spec):
            templates = _read_lines(spec)
        else:
            raise ValueError(f'zero-shot templates {spec!r} is neither a known set {sorted(TEMPLATE_SETS)} nor a '
                             f'file')
    else:
        templates = list(spec)
    bad = [t for t in templates if not isinstance(t, str) or t.count('{}') != 1]
    if not templates or bad:
        raise ValueError(f'zero-shot templates need exactly one "{{}}" for the class name each; bad: {bad[:3]}')
    return templates

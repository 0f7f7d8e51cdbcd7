"""The zoo's catalog: every official InternViT / InternVL release by name, with its Hugging Face repository, the
revision it is pinned to and the facts ``tools/download.py list`` shows.

A revision is a full commit SHA where one could be verified from a public source (the source is noted next to it);
the others follow ``main`` until their first download, after which the cached commit is used (``refs/main`` in the
hub cache), and ``tools/download.py list`` marks them "unpinned". Parameters are measured: the sum of the
parameter sizes of ``InternViT(arch)`` built on the meta device (``tests/zoo/test_catalog.py`` re-measures them).
"""
import difflib
import re
from dataclasses import dataclass
from typing import Dict, List

from .errors import ZooError

ZOO_SCHEME = 'zoo://'
COMMIT_SHA = re.compile(r'[0-9a-f]{40}')


@dataclass(frozen=True)
class ZooModel:
    """One official release. ``params`` counts the InternViT that ``zoo://NAME`` loads (the vision tower of the
    14B InternVL-C/G release); ``size`` is the download (weights plus config and tokenizer files)."""
    name: str
    repo_id: str
    revision: str
    arch: str
    params: int
    size: str
    tasks: str
    # 'backbone': an InternViT alone (its keys fill a task model's ``backbone``); 'model': a whole InternVL-C/G
    # whose keys are the model's own.
    contents: str = 'backbone'
    # The release's weights file: the shard index of the sharded 6B / 14B releases, the single file of the 300M
    # ones. The metafiles' Weights name it (``weights_url``); ``mim download`` fetches the whole release for it.
    weights_file: str = 'model.safetensors.index.json'

    @property
    def pinned(self) -> bool:
        return bool(COMMIT_SHA.fullmatch(self.revision))

    @property
    def hub_url(self) -> str:
        return f'https://huggingface.co/{self.repo_id}/tree/{self.revision}'

    @property
    def weights_url(self) -> str:
        """The file URL of the release's weights at its revision: the metafiles' ``Weights``."""
        return f'https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{self.weights_file}'


_6B_224_PARAMS = 5_902_793_600
_6B_448_PARAMS = 5_536_496_000
_300M_PARAMS = 304_012_288

ZOO: Dict[str, ZooModel] = {m.name: m for m in (
    ZooModel('internvit-6b-224px', 'OpenGVLab/InternViT-6B-224px', 'main', '6b-224', _6B_224_PARAMS,
             '~12 GB', 'linear-probe classification, segmentation'),
    ZooModel('internvit-6b-448px-v1-2', 'OpenGVLab/InternViT-6B-448px-V1-2', 'main', '6b-448', _6B_448_PARAMS,
             '~11.1 GB', 'MLLM vision encoder (InternVL-Chat-V1-2)'),
    # Commit pinned, with its three shard hashes, by public download scripts for this release.
    ZooModel('internvit-6b-448px-v1-5', 'OpenGVLab/InternViT-6B-448px-V1-5',
             '03e138c81d3fd538c77439fd43a42c067d827427', '6b-448', _6B_448_PARAMS,
             '11.1 GB', 'MLLM vision encoder (InternVL-Chat-V1-5)'),
    # Commit pinned, with every file's size and sha256, by public download scripts for this release.
    ZooModel('internvit-6b-448px-v2_5', 'OpenGVLab/InternViT-6B-448px-V2_5',
             '9d1a4344077479c93d42584b6941c64d795d508d', '6b-448', _6B_448_PARAMS,
             '11.1 GB', 'MLLM vision encoder (InternVL 2.5)'),
    ZooModel('internvit-300m-448px', 'OpenGVLab/InternViT-300M-448px', 'main', '300m', _300M_PARAMS,
             '~0.6 GB', 'MLLM vision encoder (InternVL2 1B-8B)', weights_file='model.safetensors'),
    ZooModel('internvit-300m-448px-v2_5', 'OpenGVLab/InternViT-300M-448px-V2_5', 'main', '300m', _300M_PARAMS,
             '~0.6 GB', 'MLLM vision encoder (InternVL 2.5 / 3)',
             weights_file='model.safetensors'),
    ZooModel('internvl-14b-224px', 'OpenGVLab/InternVL-14B-224px', 'main', '6b-224', _6B_224_PARAMS,
             '27.7 GB', 'InternVL-C/G: zero-shot classification, retrieval, captioning', contents='model'),
)}


def list_models() -> List[ZooModel]:
    return list(ZOO.values())


def get_model(name: str) -> ZooModel:
    """The release called ``name`` (case-insensitive; ``zoo://`` and the ``OpenGVLab/`` repo prefix are optional)."""
    key = name[len(ZOO_SCHEME):] if name.startswith(ZOO_SCHEME) else name
    key = key.strip().lower()
    key = key.split('/', 1)[1] if key.startswith('opengvlab/') else key
    if key in ZOO:
        return ZOO[key]
    close = difflib.get_close_matches(key, list(ZOO), n=3, cutoff=0.6)
    hint = f'did you mean {", ".join(repr(c) for c in close)}? ' if close else ''
    raise ZooError(f'unknown model zoo name {name!r}; {hint}`python tools/download.py list` shows all '
                   f'{len(ZOO)} names')

"""Zoo test fixtures: a fake hub on 127.0.0.1 wired in through the environment, and a tiny InternViT release."""
import os
import tempfile
from dataclasses import dataclass
from typing import Dict, Optional

import pytest
import torch

from internvl_mm.weights import save_safetensors_shards
from internvl_mm.zoo import get_model
from tests.helpers import random_internvit, to_hf_layout
from tests.zoo.fake_hub import FakeHub


@dataclass
class Release:
    """The files of a small release as a hub serves them, and the weights they hold (in internvl_mm's keys)."""
    files: Dict[str, bytes]
    state_dict: Dict[str, torch.Tensor]

    @property
    def shards(self):
        return sorted(p for p in self.files if p.endswith('.safetensors'))


def make_release(prefix: str = '', other_tensors: Optional[Dict[str, torch.Tensor]] = None) -> Release:
    """A tiny InternViT in the Hugging Face release layout (keys under ``prefix``, plus ``other_tensors`` such as
    a language model's): safetensors shards with their index, configs, and the files a download must skip (remote
    code, model card, .gitattributes, an example image)."""
    state_dict = random_internvit('tiny').state_dict()
    with tempfile.TemporaryDirectory() as folder:
        tensors = {prefix + k: v for k, v in to_hf_layout(state_dict).items()}
        save_safetensors_shards(dict(tensors, **(other_tensors or {})), folder, max_shard_bytes=260_000)
        files = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), 'rb') as f:
                files[name] = f.read()
    files.update({'config.json': b'{"architectures": ["InternVisionModel"]}',
                  'preprocessor_config.json': b'{"crop_size": 56}',
                  'modeling_intern_vit.py': b'raise SystemExit("remote code must never be downloaded")\n',
                  'README.md': b'# tiny release\n', '.gitattributes': b'*.safetensors filter=lfs\n',
                  'examples/image1.jpg': b'\xff\xd8 not an image'})
    return Release(files, state_dict)


@pytest.fixture(scope='session')
def release() -> Release:
    return make_release()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A running fake hub; HF_ENDPOINT points at it and HF_HUB_CACHE at an empty folder."""
    fake = FakeHub()
    monkeypatch.setenv('HF_ENDPOINT', fake.url)
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path / 'hub-cache'))
    monkeypatch.setenv('HF_HUB_DOWNLOAD_TIMEOUT', '5')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    monkeypatch.delenv('HF_HUB_OFFLINE', raising=False)
    yield fake
    fake.close()


def publish(hub: FakeHub, name: str, release: Release) -> str:
    """Serve ``release`` as the zoo model ``name``'s repository at the revision the catalog pins; returns the commit."""
    model = get_model(name)
    return hub.add_repo(model.repo_id, release.files, commit=model.revision if model.pinned else None)

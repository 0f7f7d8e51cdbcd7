"""``mim download internvl_mm --config NAME --dest DIR`` through the zoo's verified, resumable downloader.

openmim 0.3.9's ``download`` command reads each model's ``Weights`` from ``model-index.yml``, takes the URL's last
part as a file name and, unless ``DIR/<file name>`` exists, streams the URL with ``mim.utils.download_from_file``:
one file, no resume, and no hash check (its ``hash_prefix`` is never passed). mim has no plugin hook for that, so
:mod:`internvl_mm.import_hook` (loaded at interpreter start by the ``.pth`` file ``make install`` writes) wraps
``mim.utils.download_from_file`` when mim imports it; the wrapper hands every URL to :func:`download_for_mim`, which
takes the zoo's releases and leaves any other URL to mim.

The metafiles' ``Weights`` of a release are the file URL :attr:`ZooModel.weights_url` (the release's weights file
at the pinned revision). For such a URL the whole release (weights, index, configs, tokenizer) is fetched into the
Hugging Face cache exactly as ``tools/download.py download NAME`` does (``HF_ENDPOINT``, resume of partial files,
every file's sha256 / git blob id checked before it becomes visible), then linked (hard links; copies across
file systems) into ``DIR/NAME/`` - a release folder every loader reads (``init_model(config, 'DIR/NAME')``,
``tools/test.py``, ``init_cfg``). mim then dumps the release's config (``configs/backbones/NAME.py``) as
``DIR/NAME.py``.
"""
import os
import re
import shutil
import sys
from typing import Optional

from .catalog import ZOO, ZooModel
from .errors import ZooError

RESOLVE_URL = re.compile(r'https?://[^/]+/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<path>[^?#]+)')


def release_of_url(url: str) -> Optional[ZooModel]:
    """The zoo release whose weights ``url`` names (any host: the metafiles name huggingface.co, the download uses
    ``HF_ENDPOINT``), or None for a URL that is not a zoo release's at its catalog revision."""
    match = RESOLVE_URL.fullmatch(url.strip())
    if not match:
        return None
    for model in ZOO.values():
        if model.repo_id.lower() == match['repo'].lower() and model.revision == match['revision']:
            return model
    return None


def _place(source: str, target: str):
    """``target`` holds the bytes of ``source``: a hard link to the verified cache blob, else a copy (renamed into
    place, so an interrupted copy never has the final name)."""
    blob = os.path.realpath(source)
    if os.path.isfile(target) and os.path.samefile(blob, target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = target + '.partial'
    if os.path.lexists(partial):
        os.remove(partial)
    try:
        os.link(blob, partial)
    except OSError:
        shutil.copyfile(blob, partial)
    os.replace(partial, target)


def fetch_release_into(model: ZooModel, dest_root: str, *, progress: bool = True) -> str:
    """Download (or complete, or find cached) ``model`` through the zoo and lay its files out in
    ``dest_root/<name>/``; returns that folder."""
    from .hub import download
    snapshot = download(model.name, progress=progress)
    folder = os.path.join(dest_root, model.name)
    for root, _, names in os.walk(snapshot):
        for name in names:
            source = os.path.join(root, name)
            _place(source, os.path.join(folder, os.path.relpath(source, snapshot)))
    return folder


def download_for_mim(url: str, dest_path: str) -> bool:
    """What the wrapped ``mim.utils.download_from_file`` calls first. Returns False for a URL that is not a zoo
    release's (mim downloads it itself); otherwise fetches the release into ``dirname(dest_path)/<name>/`` and
    returns True. A zoo error or Ctrl-C ends mim with one line (the partial files stay and the command resumes)."""
    model = release_of_url(url)
    if model is None:
        return False
    dest_root = os.path.dirname(os.path.abspath(dest_path))
    try:
        folder = fetch_release_into(model, dest_root)
    except ZooError as error:
        raise SystemExit(f'mim download: error: {error}') from None
    except KeyboardInterrupt:
        print('\nmim download: interrupted; the files downloaded so far are kept and the same command resumes',
              file=sys.stderr)
        raise SystemExit(130) from None
    print(f'{model.name}: the release is in {folder} (every file hash-checked; a folder every loader reads)')
    return True

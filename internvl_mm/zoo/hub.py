"""Zoo releases in the Hugging Face cache: listed at the pinned revision, downloaded with resume, hash-checked.

huggingface_hub provides the pieces: the hub API (the file list of a revision, with each file's LFS sha256 or git
blob id), the HTTP session (``HF_ENDPOINT`` mirrors, proxies, token, redirects to the CDN), its error types and the
cache layout (``models--org--name/{blobs,snapshots/COMMIT,refs}``). Its ``hf_hub_download`` however deletes a
partial file when a transfer fails and checks sizes only, so the transfer is ours: each file streams into
``blobs/<hash>.incomplete`` (kept across runs and continued with a Range request), is hashed as it arrives, and only
a file whose hash equals the hub's is renamed to ``blobs/<hash>`` and linked into the snapshot; a mismatch deletes
it. The result is an ordinary hub cache entry that ``hf_hub_download(..., local_files_only=True)``, ``hf cache ls``
and ``HF_HUB_OFFLINE=1`` see. Files travel over plain HTTP (the hub redirects xet-stored files to a CDN that serves
byte ranges), so hf-xet is never involved.
"""
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple, TypeVar

import httpx2
from huggingface_hub import HfApi, constants, hf_hub_url
from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, RemoteEntryNotFoundError, RepositoryNotFoundError,
                                    RevisionNotFoundError)
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import WeakFileLock, build_hf_headers, get_session, hf_raise_for_status, tqdm
from mmengine.logging import print_log

from internvl_mm.weights import PICKLE_INDEX, SAFETENSORS_INDEX, SINGLE_FILES

from .catalog import COMMIT_SHA, ZooModel, get_model
from .errors import ChecksumError, ZooError

DEFAULT_RETRIES = 5
CHUNK_BYTES = 1 << 20
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)
PICKLE_WEIGHTS = ('.bin', '.pth', '.pt')
CONFIG_FILES = ('config.json', 'preprocessor_config.json', 'generation_config.json')
TOKENIZER_FILE = re.compile(r'tokenizer.*|special_tokens_map\.json|added_tokens\.json|vocab\..+|merges\.txt|'
                            r'.+\.tiktoken|.+\.model')
T = TypeVar('T')


@dataclass(frozen=True)
class HubSettings:
    """Where and how to reach the hub, read from the environment when called (huggingface_hub reads the same
    variables once, at import): ``HF_ENDPOINT`` (a mirror), ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE`` and
    ``HF_HUB_DOWNLOAD_TIMEOUT`` (seconds without data before a request counts as failed)."""
    endpoint: str
    cache_dir: str
    offline: bool
    timeout: float

    @classmethod
    def from_env(cls) -> 'HubSettings':
        env = os.environ
        return cls(endpoint=(env.get('HF_ENDPOINT') or constants.ENDPOINT).rstrip('/'),
                   cache_dir=os.path.expanduser(env.get('HF_HUB_CACHE') or constants.HF_HUB_CACHE),
                   offline=constants.is_offline_mode() or env.get('HF_HUB_OFFLINE', '').upper() in (
                       '1', 'ON', 'YES', 'TRUE'),
                   timeout=float(env.get('HF_HUB_DOWNLOAD_TIMEOUT') or constants.HF_HUB_DOWNLOAD_TIMEOUT))


@dataclass(frozen=True)
class RemoteFile:
    """A release file as the hub lists it. ``digest`` is the hash the hub publishes for it: the LFS object id
    (sha256 of the bytes) for large files, the git blob id (sha1 of ``blob <size>\\0`` + the bytes) for small ones.
    The cache names the file's blob after it."""
    path: str
    size: int
    digest: str


@dataclass(frozen=True)
class FileCheck:
    """The outcome of re-hashing one cached file; ``actual`` is None when the file is missing."""
    path: str
    expected: str
    actual: Optional[str]

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def hash_kind(digest: str) -> str:
    return 'sha256' if len(digest) == 64 else 'git blob id'


def new_hasher(digest: str, size: int):
    """A hash object computing what the hub published as ``digest`` for a file of ``size`` bytes."""
    if len(digest) == 64:
        return hashlib.sha256()
    hasher = hashlib.sha1()
    hasher.update(b'blob %d\0' % size)
    return hasher


def hash_file(path: str, digest: str) -> str:
    """The hash of the file at ``path``, of the same kind as ``digest``."""
    hasher = new_hasher(digest, os.path.getsize(path))
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(CHUNK_BYTES * 8), b''):
            hasher.update(block)
    return hasher.hexdigest()


def format_bytes(n: float) -> str:
    for unit in ('B', 'KB', 'MB', 'GB'):
        if n < 1000 or unit == 'GB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1000


def missing_weights(folder: str) -> List[str]:
    """The weight files a loader needs that ``folder`` lacks; empty when ``open_state_dict(folder)`` can load it."""
    for index in (SAFETENSORS_INDEX, PICKLE_INDEX):
        index_path = os.path.join(folder, index)
        if os.path.isfile(index_path):
            with open(index_path) as f:
                shards = set(json.load(f).get('weight_map', {}).values())
            return sorted(s for s in shards if not os.path.isfile(os.path.join(folder, s)))
    if any(os.path.isfile(os.path.join(folder, name)) for name in SINGLE_FILES):
        return []
    return [f'{SAFETENSORS_INDEX} or one of {", ".join(SINGLE_FILES)}']


def select_release_files(paths: List[str]) -> List[str]:
    """The files a loader or tokenizer uses: the weights (safetensors when the release has them, else the pickled
    ones) with their index, configs and tokenizer files. Never remote code, model cards or example images."""
    top = [p for p in paths if '/' not in p]
    safetensors = [p for p in top if p.endswith('.safetensors')]
    if safetensors:
        weights = safetensors + [p for p in top if p == SAFETENSORS_INDEX]
    else:
        weights = [p for p in top if p.endswith(PICKLE_WEIGHTS) or p == PICKLE_INDEX]
    extras = [p for p in top if p in CONFIG_FILES or TOKENIZER_FILE.fullmatch(p)]
    return sorted(set(weights + extras))


class CacheEntry:
    """One repository in the hub cache, in huggingface_hub's layout: ``blobs/<hash>`` holds the bytes,
    ``snapshots/<commit>/<path>`` links to them and ``refs/<branch>`` names a branch's commit."""

    def __init__(self, repo_id: str, cache_dir: str):
        folder = repo_folder_name(repo_id=repo_id, repo_type='model')
        self.root = os.path.join(cache_dir, folder)
        self.locks = os.path.join(cache_dir, '.locks', folder)

    def blob(self, digest: str) -> str:
        return os.path.join(self.root, 'blobs', digest)

    def snapshot(self, commit: str) -> str:
        return os.path.join(self.root, 'snapshots', commit)

    def lock(self, digest: str) -> str:
        return os.path.join(self.locks, f'{digest}.lock')

    def pointer(self, commit: str, path: str) -> str:
        return os.path.join(self.snapshot(commit), *path.split('/'))

    def commit_of(self, revision: str) -> Optional[str]:
        if COMMIT_SHA.fullmatch(revision):
            return revision
        ref = os.path.join(self.root, 'refs', revision)
        if not os.path.isfile(ref):
            return None
        with open(ref) as f:
            return f.read().strip()

    def link(self, commit: str, path: str, digest: str):
        """Make ``snapshots/<commit>/<path>`` point at the verified blob (a copy where symlinks are unavailable)."""
        pointer = self.pointer(commit, path)
        os.makedirs(os.path.dirname(pointer), exist_ok=True)
        if os.path.lexists(pointer):
            os.remove(pointer)
        try:
            os.symlink(os.path.relpath(self.blob(digest), os.path.dirname(pointer)), pointer)
        except OSError:
            shutil.copyfile(self.blob(digest), pointer)

    def write_ref(self, revision: str, commit: str):
        ref = os.path.join(self.root, 'refs', revision)
        os.makedirs(os.path.dirname(ref), exist_ok=True)
        with open(ref + '.tmp', 'w') as f:
            f.write(commit)
        os.replace(ref + '.tmp', ref)


# -- talking to the hub ------------------------------------------------------------------------------------------
class _Retries:
    """When to try a request again: at once after a dropped connection that delivered data, else after 1, 2, 4 ...
    seconds, giving up after ``retries`` attempts in a row that delivered nothing."""

    def __init__(self, retries: int):
        self.retries = retries
        self.idle = 0

    def again(self, progressed: bool) -> bool:
        if progressed:
            self.idle = 0
            return True
        self.idle += 1
        if self.idle > self.retries:
            return False
        time.sleep(min(2 ** (self.idle - 1), 30))
        return True


# what getaddrinfo's errors say (glibc, macOS, Windows) when a host name does not resolve
NAME_RESOLUTION_FAILURES = ('Name or service not known', 'nodename nor servname', 'name resolution',
                            'getaddrinfo failed', 'No address associated with hostname')


def _name_not_resolved(error: BaseException) -> bool:
    """A host name that did not resolve (anywhere in the exception's chain): retrying would only wait."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, socket.gaierror) or any(m in str(error) for m in NAME_RESOLUTION_FAILURES):
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_transient(error: Exception) -> bool:
    if isinstance(error, httpx2.ConnectError) and _name_not_resolved(error):
        return False  # no DNS answer now is no DNS answer in 1, 2, 4 ... s: say so at once
    if isinstance(error, HfHubHTTPError):
        return error.response is not None and error.response.status_code in TRANSIENT_STATUS
    return isinstance(error, httpx2.TransportError) and not isinstance(
        error, (httpx2.ProxyError, httpx2.UnsupportedProtocol))


def _explain(error: Exception, model: ZooModel, settings: HubSettings, action: str, kept: str = '') -> ZooError:
    """One line for a failed hub request: what failed, why, and what to do about it."""
    failed = f'{model.name}: {action} from {settings.endpoint} failed'
    resume = f'; {kept} are kept and the same command resumes' if kept else ''
    if isinstance(error, RevisionNotFoundError):
        return ZooError(f'{failed}: {model.repo_id} has no revision {model.revision} (HTTP 404); if HF_ENDPOINT '
                        f'points to a mirror it may lag behind - unset it; else the pinned revision was removed, '
                        f'update internvl_mm')
    if isinstance(error, GatedRepoError):
        return ZooError(f'{failed}: {model.repo_id} is gated; accept its terms on huggingface.co and log in '
                        f'(`hf auth login` or HF_TOKEN)')
    if isinstance(error, RepositoryNotFoundError):
        return ZooError(f'{failed}: there is no repository {model.repo_id} (HTTP 404); a mirror set by HF_ENDPOINT '
                        f'may not carry it - unset HF_ENDPOINT or choose another mirror')
    if isinstance(error, RemoteEntryNotFoundError):
        return ZooError(f'{failed}: the file is not in {model.repo_id}@{model.revision} (HTTP 404); the hub or '
                        f'mirror serves an incomplete copy - unset HF_ENDPOINT or choose another mirror')
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code
        if status in (401, 403):
            return ZooError(f'{failed}: access denied (HTTP {status}); check HF_TOKEN / `hf auth login`')
        return ZooError(f'{failed}: the server answered HTTP {status} {error.response.reason_phrase}{resume}; the '
                        f'hub or mirror is failing - retry later, or set HF_ENDPOINT to another mirror')
    if isinstance(error, httpx2.TimeoutException):
        return ZooError(f'{failed}: no data for {settings.timeout:g} s (timeout){resume}; check the network or '
                        f'proxy, raise HF_HUB_DOWNLOAD_TIMEOUT, or set HF_ENDPOINT to a closer mirror')
    if isinstance(error, httpx2.ConnectError) and _name_not_resolved(error):
        host = httpx2.URL(settings.endpoint).host
        return ZooError(f'{failed}: the host name {host} does not resolve (no DNS answer){resume}; check the '
                        f'network or DNS, the spelling of HF_ENDPOINT, or work from a filled cache with '
                        f'HF_HUB_OFFLINE=1')
    if isinstance(error, httpx2.ConnectError):
        return ZooError(f'{failed}: cannot connect ({error}){resume}; check the network or proxy, set HF_ENDPOINT '
                        f'to a reachable mirror, or work from a filled cache with HF_HUB_OFFLINE=1')
    return ZooError(f'{failed}: the connection broke ({type(error).__name__}: {error}){resume}; check the network '
                    f'or proxy, or set HF_ENDPOINT to another mirror')


def _request(call: Callable[[], T], model: ZooModel, settings: HubSettings, action: str, retries: int) -> T:
    attempts = _Retries(retries)
    while True:
        try:
            return call()
        except (httpx2.TransportError, HfHubHTTPError) as error:
            if not (_is_transient(error) and attempts.again(progressed=False)):
                raise _explain(error, model, settings, action) from error


def list_release_files(model: ZooModel, settings: HubSettings,
                       retries: int = DEFAULT_RETRIES) -> Tuple[str, List[RemoteFile]]:
    """The commit the model's revision names, and its release files (:func:`select_release_files`) with the hashes
    the hub publishes for them."""
    api = HfApi(endpoint=settings.endpoint)
    info = _request(lambda: api.model_info(model.repo_id, revision=model.revision, files_metadata=True,
                                           timeout=settings.timeout),
                    model, settings, f'listing the files of {model.repo_id}@{model.revision}', retries)
    siblings = {s.rfilename: s for s in info.siblings or []}
    files = []
    for path in select_release_files(list(siblings)):
        sibling = siblings[path]
        digest = sibling.lfs.sha256 if sibling.lfs else sibling.blob_id
        if not digest:
            raise ZooError(f'{model.name}: {settings.endpoint} lists {path} without its hash, so the download can '
                           f'not be verified; unset HF_ENDPOINT or choose a mirror that serves file metadata')
        files.append(RemoteFile(path, sibling.lfs.size if sibling.lfs else sibling.size, digest))
    if not any(f.path.endswith(('.safetensors',) + PICKLE_WEIGHTS) for f in files):
        raise ZooError(f'{model.name}: {model.repo_id}@{info.sha} holds no weight files; check the revision')
    return info.sha, files


class _PartialFile:
    """``blobs/<hash>.incomplete``: the bytes received so far, continued from an earlier run, and their hash."""

    def __init__(self, path: str, remote: RemoteFile):
        self.path, self.remote = path, remote
        self.size = os.path.getsize(path) if os.path.exists(path) else 0
        if self.size > remote.size:  # left by a different file of the same name: start again
            os.remove(path)
            self.size = 0
        self.hasher = new_hasher(remote.digest, remote.size)
        if self.size:
            with open(path, 'rb') as received:
                for block in iter(lambda: received.read(CHUNK_BYTES * 8), b''):
                    self.hasher.update(block)
        self.file = open(path, 'ab')

    def append(self, chunk: bytes) -> int:
        chunk = chunk[:self.remote.size - self.size]
        self.file.write(chunk)
        self.hasher.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def restart(self):
        self.file.truncate(0)
        self.hasher = new_hasher(self.remote.digest, self.remote.size)
        self.size = 0

    def close(self):
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


def _stream(url: str, partial: _PartialFile, settings: HubSettings, bar):
    """One GET of the missing bytes (a Range request when resuming) appended to ``partial``."""
    headers = dict(build_hf_headers(), **{'Accept-Encoding': 'identity'})  # byte offsets into the file itself
    if partial.size:
        headers['Range'] = f'bytes={partial.size}-'
    with get_session().stream('GET', url, headers=headers, timeout=settings.timeout) as response:
        if response.status_code >= 400:
            response.read()
            hf_raise_for_status(response)
        if partial.size and response.status_code != 206:  # the server ignored the range: take the whole file
            partial.restart()
            bar.reset(total=partial.remote.size)
        for chunk in response.iter_bytes():  # as received: a chunk buffer would lose bytes when the line drops
            bar.update(partial.append(chunk))
            if partial.size == partial.remote.size:
                return
    if partial.size < partial.remote.size:
        raise httpx2.RemoteProtocolError(f'the response ended at byte {partial.size} of {partial.remote.size}')


def _download_file(model: ZooModel, entry: CacheEntry, commit: str, remote: RemoteFile, settings: HubSettings,
                   retries: int, progress: bool):
    """Bring one file into ``blobs/<hash>``; only bytes whose hash is the hub's ever get that name."""
    blob = entry.blob(remote.digest)
    os.makedirs(os.path.dirname(blob), exist_ok=True)
    os.makedirs(entry.locks, exist_ok=True)
    url = hf_hub_url(model.repo_id, remote.path, revision=commit, endpoint=settings.endpoint)
    with WeakFileLock(entry.lock(remote.digest)):
        if os.path.isfile(blob):  # another process finished it while this one waited for the lock
            return
        partial = _PartialFile(blob + '.incomplete', remote)
        attempts = _Retries(retries)
        try:
            with tqdm(desc=remote.path, total=remote.size, initial=partial.size, unit='B', unit_scale=True,
                      unit_divisor=1024, disable=not progress) as bar:
                while partial.size < remote.size:
                    start = partial.size
                    try:
                        _stream(url, partial, settings, bar)
                    except (httpx2.TransportError, HfHubHTTPError) as error:
                        if not (_is_transient(error) and attempts.again(progressed=partial.size > start)):
                            kept = f'{format_bytes(partial.size)} of {remote.path}' if partial.size else ''
                            raise _explain(error, model, settings, f'downloading {remote.path}', kept) from error
                        print_log(f'{model.name}: {remote.path}: {type(error).__name__} at byte {partial.size} of '
                                  f'{remote.size}; resuming', logger='current', level=logging.WARNING)
        finally:
            partial.close()
        actual = partial.hasher.hexdigest()
        if actual != remote.digest:
            os.remove(partial.path)
            raise ChecksumError(
                f'{model.name}: {remote.path} failed its checksum: expected {hash_kind(remote.digest)} '
                f'{remote.digest}, got {actual}; the corrupt download was deleted - run the download again (if it '
                f'fails again, the server at {settings.endpoint} serves a bad copy: unset HF_ENDPOINT or choose '
                f'another mirror)')
        os.replace(partial.path, blob)


def _bytes_left(entry: CacheEntry, files: List[RemoteFile]) -> int:
    """What downloading ``files`` still transfers: each file less its partial download."""
    need = 0
    for remote in files:
        partial = entry.blob(remote.digest) + '.incomplete'
        need += remote.size - min(os.path.getsize(partial) if os.path.exists(partial) else 0, remote.size)
    return need


def _check_free_space(model: ZooModel, entry: CacheEntry, files: List[RemoteFile]):
    need = _bytes_left(entry, files)
    os.makedirs(entry.root, exist_ok=True)
    free = shutil.disk_usage(entry.root).free
    if need > free:
        raise ZooError(f'{model.name} needs {format_bytes(need)} more in {entry.root} but the disk has '
                       f'{format_bytes(free)} free; free some space or point HF_HUB_CACHE to a larger disk')


# -- the zoo's cache operations -----------------------------------------------------------------------------------
def _not_cached(model: ZooModel, settings: HubSettings) -> ZooError:
    if settings.offline:
        return ZooError(f'{model.name} is not in the cache {settings.cache_dir} and HF_HUB_OFFLINE=1 forbids '
                        f'downloading it; run `python tools/download.py download {model.name}` where the hub is '
                        f'reachable (with the same HF_HUB_CACHE), or unset HF_HUB_OFFLINE')
    return ZooError(f'{model.name} is not downloaded yet (cache {settings.cache_dir}); run '
                    f'`python tools/download.py download {model.name}`')


def cached_snapshot(model: ZooModel, settings: HubSettings) -> Optional[str]:
    """The cached snapshot folder of ``model`` if its weights are complete there, else None. No network access."""
    entry = CacheEntry(model.repo_id, settings.cache_dir)
    commit = entry.commit_of(model.revision)
    folder = entry.snapshot(commit) if commit else None
    return folder if folder and os.path.isdir(folder) and not missing_weights(folder) else None


def local_path(name: str) -> str:
    """The cached snapshot folder of a release, without network access; raises if it is missing or incomplete."""
    model, settings = get_model(name), HubSettings.from_env()
    folder = cached_snapshot(model, settings)
    if folder:
        return folder
    entry = CacheEntry(model.repo_id, settings.cache_dir)
    commit = entry.commit_of(model.revision)
    if commit is None or not os.path.isdir(entry.snapshot(commit)):
        raise _not_cached(model, settings)
    missing = missing_weights(entry.snapshot(commit))
    raise ZooError(f'{model.name} is only partly in the cache ({entry.snapshot(commit)} lacks '
                   f'{", ".join(missing[:3])}); run `python tools/download.py download {model.name}` to finish it '
                   f'(downloads resume where they stopped)')


def download(name: str, *, retries: int = DEFAULT_RETRIES, progress: bool = True) -> str:
    """Download a release into the hub cache, or complete it, and return its snapshot folder. Cached files are
    kept, partial ones resumed, and every new file is hash-checked before it becomes visible. Offline, the cached
    snapshot is returned if it is complete."""
    model, settings = get_model(name), HubSettings.from_env()
    if settings.offline:
        return local_path(model.name)
    entry = CacheEntry(model.repo_id, settings.cache_dir)
    commit, files = list_release_files(model, settings, retries)
    todo = [f for f in files if not os.path.isfile(entry.pointer(commit, f.path))]
    fetch = [f for f in todo if not os.path.isfile(entry.blob(f.digest))]
    _check_free_space(model, entry, fetch)
    if fetch:
        total, left = sum(f.size for f in fetch), _bytes_left(entry, fetch)
        amount = format_bytes(left) if left == total else f'{format_bytes(left)} left of {format_bytes(total)}'
        print_log(f'{model.name}: downloading {len(fetch)} of {len(files)} files '
                  f'({amount}) from {model.repo_id}@{commit[:12]} into '
                  f'{entry.root}', logger='current')
    for remote in sorted(todo, key=lambda f: f.size):
        if remote in fetch:
            _download_file(model, entry, commit, remote, settings, retries, progress)
        entry.link(commit, remote.path, remote.digest)
    if not model.pinned:
        entry.write_ref(model.revision, commit)
    missing = missing_weights(entry.snapshot(commit))
    if missing:
        raise ZooError(f'{model.name}: {model.repo_id}@{commit} is incomplete on {settings.endpoint}: its index '
                       f'names {", ".join(missing[:3])}, which the repository lacks')
    return entry.snapshot(commit)


def resolve(name: str, *, retries: int = DEFAULT_RETRIES) -> str:
    """A release's snapshot folder: from the cache when its weights are complete (no network), else downloaded."""
    model, settings = get_model(name), HubSettings.from_env()
    return cached_snapshot(model, settings) or download(model.name, retries=retries)


def verify(name: str, *, retries: int = DEFAULT_RETRIES) -> Tuple[str, List[FileCheck]]:
    """Re-hash every cached file of a release against the hub's published hashes - listed by the hub, or offline
    read from the cache's blob names, which are those hashes. A file that fails is deleted, so no loader reads it and
    the next download fetches it again. Returns the snapshot folder and one check per file."""
    model, settings = get_model(name), HubSettings.from_env()
    entry = CacheEntry(model.repo_id, settings.cache_dir)
    if settings.offline:
        commit = entry.commit_of(model.revision)
        folder = entry.snapshot(commit) if commit else ''
        if not os.path.isdir(folder):
            raise _not_cached(model, settings)
        files = [RemoteFile(os.path.relpath(os.path.join(root, n), folder), 0,
                            os.path.basename(os.readlink(os.path.join(root, n))))
                 for root, _, names in os.walk(folder) for n in names if os.path.islink(os.path.join(root, n))]
    else:
        commit, files = list_release_files(model, settings, retries)
        folder = entry.snapshot(commit)
        if not os.path.isdir(folder):
            raise _not_cached(model, settings)
    checks = []
    for remote in sorted(files, key=lambda f: f.path):
        pointer = entry.pointer(commit, remote.path)
        actual = hash_file(pointer, remote.digest) if os.path.isfile(pointer) else None
        if actual is not None and actual != remote.digest:
            blob = os.path.realpath(pointer)
            os.remove(pointer)
            if blob != pointer and os.path.exists(blob):
                os.remove(blob)
        checks.append(FileCheck(remote.path, remote.digest, actual))
    return folder, checks

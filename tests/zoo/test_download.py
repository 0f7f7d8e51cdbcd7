"""Downloading zoo releases from a fake hub on 127.0.0.1: shards, resume after interruptions, hash checks, hub and
network failures, offline mode, and the cache layout huggingface_hub itself reads."""
import hashlib
import os
import random
import socket

import pytest
from huggingface_hub import hf_hub_download, scan_cache_dir, try_to_load_from_cache

from internvl_mm import zoo
from internvl_mm.weights import open_state_dict
from tests.zoo.conftest import publish
from tests.zoo.fake_hub import Fault, git_blob_id

NAME = 'internvit-6b-448px-v1-5'  # pinned to a commit
UNPINNED = 'internvit-300m-448px'  # follows main


def expected_files(release):
    return sorted(p for p in release.files if p.endswith(('.safetensors', '.json')))


def assert_cache_is_clean(cache_dir, release):
    """Every blob in the cache is a complete, correct file (a file is correct if its name is its hash), and only
    ``.incomplete`` files, which no loader opens, may hold partial data."""
    published = {hashlib.sha256(d).hexdigest() for d in release.files.values()} | {
        git_blob_id(d) for d in release.files.values()}
    for root, _, names in os.walk(cache_dir):
        if os.path.basename(root) != 'blobs':
            continue
        for name in names:
            if name.endswith('.incomplete'):
                continue
            assert name in published, name
            assert zoo.hub.hash_file(os.path.join(root, name), name) == name


def test_download_fetches_every_shard_and_only_release_files(hub, release):
    commit = publish(hub, NAME, release)
    folder = zoo.download(NAME, progress=False)
    assert folder.endswith(os.path.join('snapshots', commit))
    assert sorted(os.listdir(folder)) == expected_files(release)
    for path in expected_files(release):
        with open(os.path.join(folder, path), 'rb') as f:
            assert f.read() == release.files[path]
    assert len(release.shards) >= 4
    resolved = [r for r in hub.gets('/resolve/') if r[1].endswith('.safetensors')]
    assert len(resolved) == len(hub.gets('/lfs/')) == len(release.shards)  # each shard: resolve -> 302 -> CDN
    assert not hub.gets('.py') and not hub.gets('README.md') and not hub.gets('image1.jpg')
    loaded = open_state_dict(folder)
    assert len(loaded) == len(release.state_dict)


def test_a_second_download_transfers_nothing_and_resolve_needs_no_network(hub, release):
    publish(hub, NAME, release)
    folder = zoo.download(NAME, progress=False)
    hub.requests.clear()
    assert zoo.download(NAME, progress=False) == folder
    assert [r[1] for r in hub.requests] == [f'/api/models/{zoo.get_model(NAME).repo_id}/revision/'
                                            f'{zoo.get_model(NAME).revision}']
    hub.requests.clear()
    assert zoo.resolve(NAME) == folder and zoo.local_path(NAME) == folder
    assert hub.requests == []


def test_the_cache_is_the_standard_hugging_face_cache(hub, release):
    commit = publish(hub, UNPINNED, release)
    folder = zoo.download(UNPINNED, progress=False)
    repo_id, cache = zoo.get_model(UNPINNED).repo_id, os.environ['HF_HUB_CACHE']
    assert try_to_load_from_cache(repo_id, 'config.json', cache_dir=cache) == os.path.join(folder, 'config.json')
    assert hf_hub_download(repo_id, release.shards[0], cache_dir=cache, local_files_only=True) == os.path.join(
        folder, release.shards[0])
    (repo,) = scan_cache_dir(cache).repos
    assert repo.repo_id == repo_id and [(r.commit_hash, r.refs) for r in repo.revisions] == [(commit, {'main'})]
    assert {f.file_name for f in next(iter(repo.revisions)).files} == set(expected_files(release))
    # Online, huggingface_hub finds each blob under the hash its own HEAD request reports and transfers nothing.
    hub.requests.clear()
    for path in (release.shards[1], 'config.json'):
        assert hf_hub_download(repo_id, path, cache_dir=cache, endpoint=hub.url) == os.path.join(folder, path)
    assert {r[0] for r in hub.requests} == {'HEAD'}


def test_interrupted_downloads_resume_at_random_offsets(hub, release, monkeypatch):
    """24 interruptions at random byte offsets: half are resumed within the same call, half by the next call after
    the hub went away mid-file; each shard arrives intact and no corrupt file is ever left in the cache."""
    rng = random.Random(8)
    cache = os.environ['HF_HUB_CACHE']
    publish(hub, NAME, release)
    model = zoo.get_model(NAME)
    for repeat in range(24):
        monkeypatch.setenv('HF_HUB_CACHE', os.path.join(cache, str(repeat)))
        shard = rng.choice(release.shards)
        size = len(release.files[shard])
        offsets = sorted(rng.sample(range(1, size), 3))
        hub.requests.clear()
        if repeat % 2 == 0:  # the connection drops three times; the same call resumes each time
            hub.inject(shard, Fault(cut_at=list(offsets)))
            zoo.download(NAME, progress=False)
            ranges = [r[2] for r in hub.gets() if '/lfs/' in r[1] and r[2]]
            assert ranges == [f'bytes={o}-' for o in offsets]
        else:  # the connection drops, then the hub fails: the call gives up and the next one resumes
            hub.inject(shard, Fault(cut_at=[offsets[0]], times=1), Fault(status=503))
            with pytest.raises(zoo.ZooError, match=f'downloading {shard} .*HTTP 503.*are kept and the same command '
                                                   f'resumes'):
                zoo.download(NAME, retries=0, progress=False)
            partial = zoo.hub.CacheEntry(model.repo_id, os.environ['HF_HUB_CACHE']).blob(
                hashlib.sha256(release.files[shard]).hexdigest()) + '.incomplete'
            assert os.path.getsize(partial) == offsets[0]
            assert_cache_is_clean(os.environ['HF_HUB_CACHE'], release)
            with pytest.raises(zoo.ZooError, match='only partly in the cache'):
                zoo.local_path(NAME)
            hub.faults.clear()
            hub.requests.clear()
            zoo.download(NAME, progress=False)
            resumed = hub.gets('/lfs/' + hashlib.sha256(release.files[shard]).hexdigest())
            assert [r[2] for r in resumed] == [f'bytes={offsets[0]}-']
            assert not os.path.exists(partial)
        hub.faults.clear()
        folder = zoo.local_path(NAME)
        for path in release.shards:
            with open(os.path.join(folder, path), 'rb') as f:
                assert f.read() == release.files[path], (repeat, path)
        assert_cache_is_clean(os.environ['HF_HUB_CACHE'], release)


def test_a_corrupted_byte_is_detected_reported_and_never_left_for_a_loader(hub, release):
    publish(hub, NAME, release)
    shard = release.shards[1]
    data = release.files[shard]
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0xFF
    hub.inject(shard, Fault(flip_byte=len(data) // 2, times=1))
    expected, actual = hashlib.sha256(data).hexdigest(), hashlib.sha256(bad).hexdigest()
    with pytest.raises(zoo.ChecksumError) as info:
        zoo.download(NAME, progress=False)
    message = str(info.value)
    assert shard in message and expected in message and actual in message and 'deleted' in message
    entry = zoo.hub.CacheEntry(zoo.get_model(NAME).repo_id, os.environ['HF_HUB_CACHE'])
    assert not os.path.exists(entry.blob(expected)) and not os.path.exists(entry.blob(expected) + '.incomplete')
    assert not os.path.lexists(entry.pointer(zoo.get_model(NAME).revision, shard))
    assert_cache_is_clean(os.environ['HF_HUB_CACHE'], release)
    folder = zoo.download(NAME, progress=False)  # the fault is used up: a clean copy arrives
    with open(os.path.join(folder, shard), 'rb') as f:
        assert f.read() == data


def test_verify_finds_corruption_in_the_cache_and_removes_the_file(hub, release, monkeypatch):
    publish(hub, NAME, release)
    folder = zoo.download(NAME, progress=False)
    _, checks = zoo.verify(NAME)
    assert [c.path for c in checks] == expected_files(release) and all(c.ok for c in checks)
    shard = release.shards[2]
    blob = os.path.realpath(os.path.join(folder, shard))
    with open(blob, 'r+b') as f:  # bit rot on disk
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    for offline in ('0', '1'):  # offline the expected hashes come from the cache's blob names
        monkeypatch.setenv('HF_HUB_OFFLINE', offline)
        _, checks = zoo.verify(NAME)
        bad = [c for c in checks if not c.ok]
        if offline == '0':
            assert [(c.path, c.expected) for c in bad] == [(shard, hashlib.sha256(release.files[shard]).hexdigest())]
            assert bad[0].actual is not None and bad[0].actual != bad[0].expected
            assert not os.path.lexists(os.path.join(folder, shard)) and not os.path.exists(blob)
        else:  # the corrupt file is already gone, so offline verification only sees intact files
            assert bad == [] and shard not in [c.path for c in checks]
    with pytest.raises(zoo.ZooError, match=f'lacks {shard}'):
        zoo.local_path(NAME)
    monkeypatch.setenv('HF_HUB_OFFLINE', '0')
    zoo.download(NAME, progress=False)
    assert all(c.ok for c in zoo.verify(NAME)[1])


FAILURES = {
    'no-repo': r'there is no repository OpenGVLab/InternViT-6B-448px-V1-5 \(HTTP 404\).*HF_ENDPOINT',
    'no-revision': r'has no revision 03e138c81d3fd538c77439fd43a42c067d827427 \(HTTP 404\)',
    'api-500': r'listing the files of .* failed: the server answered HTTP 500 .*retry later, or set HF_ENDPOINT',
    'file-500': r'downloading model-00001-of-00005.safetensors from .* failed: the server answered HTTP 500',
    'file-404': r'downloading config.json from .* failed: the file is not in .*HTTP 404',
    'timeout': r'downloading model-00002-of-00005.safetensors from .* failed: no data for 0.3 s \(timeout\); '
               r'.*HF_HUB_DOWNLOAD_TIMEOUT',
    'unreachable': r'listing the files of .* failed: cannot connect .*reachable mirror.*HF_HUB_OFFLINE=1',
}


@pytest.mark.parametrize('case', FAILURES)
def test_hub_and_network_failures_give_one_clear_line(hub, release, monkeypatch, case):
    model = zoo.get_model(NAME)
    if case != 'no-repo':
        publish(hub, NAME, release)
    if case == 'no-revision':
        hub.repos[model.repo_id].commit = 'f' * 40
    hub.inject('api', Fault(status=500) if case == 'api-500' else Fault(times=0))
    if case == 'file-500':
        hub.inject('model-00001-of-00005.safetensors', Fault(status=500))
    if case == 'file-404':
        hub.repos[model.repo_id].unserved.add('config.json')  # listed, but a broken mirror does not serve it
    if case == 'timeout':
        monkeypatch.setenv('HF_HUB_DOWNLOAD_TIMEOUT', '0.3')
        hub.inject('model-00002-of-00005.safetensors', Fault(stall=3))
    if case == 'unreachable':
        with socket.socket() as s:  # a port nothing listens on
            s.bind(('127.0.0.1', 0))
            monkeypatch.setenv('HF_ENDPOINT', f'http://127.0.0.1:{s.getsockname()[1]}')
    with pytest.raises(zoo.ZooError, match=FAILURES[case]) as info:
        zoo.download(NAME, retries=1, progress=False)
    assert '\n' not in str(info.value) and str(info.value).startswith(f'{NAME}: ')
    assert_cache_is_clean(os.environ['HF_HUB_CACHE'], release)


def test_offline_mode_is_served_from_the_cache(hub, release, monkeypatch):
    publish(hub, UNPINNED, release)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(zoo.ZooError, match=f'{UNPINNED} is not in the cache .* HF_HUB_OFFLINE=1 forbids '
                                           f'downloading it; run `python tools/download.py download {UNPINNED}`'):
        zoo.resolve(UNPINNED)
    assert hub.requests == []
    monkeypatch.setenv('HF_HUB_OFFLINE', '0')
    folder = zoo.download(UNPINNED, progress=False)
    hub.close()  # the hub is gone; offline everything still works from the cache
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    assert zoo.download(UNPINNED) == folder and zoo.resolve(UNPINNED) == folder
    assert zoo.local_path(UNPINNED) == folder
    assert all(c.ok for c in zoo.verify(UNPINNED)[1])


def test_a_full_disk_is_reported_before_downloading(hub, release, monkeypatch):
    publish(hub, NAME, release)
    usage = zoo.hub.shutil.disk_usage
    monkeypatch.setattr(zoo.hub.shutil, 'disk_usage', lambda path: usage(path)._replace(free=1000))
    with pytest.raises(zoo.ZooError, match=rf'{NAME} needs 963.7 KB more in .* but the disk has 1.0 KB free; free '
                                           rf'some space or point HF_HUB_CACHE to a larger disk'):
        zoo.download(NAME, progress=False)
    assert hub.gets() == []

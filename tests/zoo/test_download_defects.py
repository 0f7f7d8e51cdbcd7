"""Download defects a user met: a host name that does not resolve is reported at once (not after ~46 s of
retries), a resumed download announces what is left, and Ctrl-C in tools/download.py is one line."""
import os
import socket
import subprocess
import sys
import time

import pytest

from internvl_mm import zoo
from internvl_mm.zoo import hub as zoo_hub
from tests.helpers import ROOT
from tests.zoo.conftest import publish

NAME = 'internvit-6b-448px-v1-5'


def test_a_host_name_that_does_not_resolve_is_not_retried(hub, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == 'hub.invalid':
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    for var in ('HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('HF_ENDPOINT', 'http://hub.invalid')
    start = time.monotonic()
    with pytest.raises(zoo.ZooError, match=r'the host name hub.invalid does not resolve .*HF_ENDPOINT') as info:
        zoo.download(NAME, retries=5, progress=False)
    assert time.monotonic() - start < 1  # five retries would sleep 1 + 2 + 4 + 8 + 16 s
    assert '\n' not in str(info.value)


def test_a_resumed_download_announces_what_is_left(hub, release, monkeypatch):
    publish(hub, NAME, release)
    commit, files = zoo_hub.list_release_files(zoo.get_model(NAME), zoo_hub.HubSettings.from_env())
    entry = zoo_hub.CacheEntry(zoo.get_model(NAME).repo_id, os.environ['HF_HUB_CACHE'])
    largest = max(files, key=lambda f: f.size)
    os.makedirs(os.path.dirname(entry.blob(largest.digest)), exist_ok=True)
    with open(entry.blob(largest.digest) + '.incomplete', 'wb') as f:
        f.write(release.files[largest.path][:largest.size // 2])
    logged = []
    monkeypatch.setattr(zoo_hub, 'print_log', lambda msg, **kwargs: logged.append(msg))
    zoo.download(NAME, progress=False)
    total = sum(f.size for f in files)
    left = total - largest.size // 2
    announce = next(m for m in logged if 'downloading' in m)
    assert f'({zoo_hub.format_bytes(left)} left of {zoo_hub.format_bytes(total)})' in announce, announce
    assert all(c.ok for c in zoo.verify(NAME)[1])


def test_ctrl_c_is_one_line():
    code = ('import sys; sys.argv = ["download.py", "download", "%s"]; import tools.download as d; '
            'from internvl_mm import zoo\n'
            'def interrupted(*a, **k): raise KeyboardInterrupt\n'
            'zoo.download = interrupted; d.main()' % NAME)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert result.returncode == 130, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith('download: interrupted;') and 'resumes' in lines[-1]

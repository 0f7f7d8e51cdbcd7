"""tools/download.py as a user runs it: the table, and download / path / verify against the fake hub with a
failure reported in one line. (The messages themselves are tested in-process, in test_download.py.)"""
import os

import pytest

from internvl_mm import zoo
from tests.helpers import run_tool
from tests.zoo.conftest import publish


def test_list_prints_every_release_with_params_size_tasks_and_revision():
    out = run_tool('download.py', 'list').stdout
    header, *rows = out.split('\n\n')[0].splitlines()
    assert header.split()[:4] == ['NAME', 'PARAMS', 'SIZE', 'TASKS']
    assert [row.split()[0] for row in rows] == list(zoo.ZOO)
    assert '5.90B' in rows[0] and 'OpenGVLab/InternViT-6B-224px @ main (unpinned)' in rows[0]
    assert 'OpenGVLab/InternViT-6B-448px-V1-5 @ 03e138c81d3f' in out and '304M' in out


@pytest.mark.slow  # three runs of the tool, ~10 s each on 2 busy cores
def test_download_path_and_verify_from_the_command_line(hub, release):
    publish(hub, 'internvit-6b-448px-v2_5', release)
    downloaded = run_tool('download.py', 'download', 'internvit-6b-448px-v2_5', '--no-progress')
    folder = downloaded.stdout.strip().splitlines()[-1]
    assert sorted(os.listdir(folder)) == sorted(p for p in release.files if p.endswith(('.safetensors', '.json')))
    assert run_tool('download.py', 'path', 'internvit-6b-448px-v2_5').stdout.strip() == folder
    shard = os.path.realpath(os.path.join(folder, release.shards[0]))
    with open(shard, 'r+b') as f:
        f.write(b'\0')
    failed = run_tool('download.py', 'verify', 'internvit-6b-448px-v2_5', check=False)
    assert failed.returncode == 1
    assert f'CORRUPT  {release.shards[0]}' in failed.stdout
    (error,) = failed.stderr.strip().splitlines()
    assert error.startswith(f'download: error: internvit-6b-448px-v2_5: 1 of {len(os.listdir(folder)) + 1} cached '
                            f'files failed verification ({release.shards[0]} has sha256 ')
    assert 'run `python tools/download.py download internvit-6b-448px-v2_5` to fetch them again' in error

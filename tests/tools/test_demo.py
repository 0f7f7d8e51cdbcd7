"""The demo's pipeline (data generation, tools/train.py, tools/test.py with --show-dir, the table) at smoke scale."""
import os

from tests.helpers import run_tool


def test_demo_smoke(tmp_path):
    result = run_tool('demo.py', '--smoke', '--work-dir', str(tmp_path / 'work'), '--data-root',
                      str(tmp_path / 'data'), timeout=900)
    assert 'classification' in result.stdout and 'accuracy/top1' in result.stdout
    assert os.listdir(tmp_path / 'work' / 'classification' / 'predictions')  # --show-dir wrote images

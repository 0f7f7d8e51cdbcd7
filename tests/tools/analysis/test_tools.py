"""tools/analysis/get_flops.py and tools/analysis/benchmark.py at tiny size: the correctness of what they print and
write (never their timings)."""
import importlib
import json
import re
import statistics

import pytest
import torch

from tests.helpers import run_tool
from tools.analysis.lib.flops import ViTShape, internvit_macs


def load_tool(name):
    """tools/analysis/<name>.py as a module (run_tool runs it as a user does, in a subprocess)."""
    return importlib.import_module(f'tools.analysis.{name}')


def test_get_flops_tool(tmp_path):
    out = tmp_path / 'flops.json'
    result = run_tool('analysis/get_flops.py', 'tiny', '--shape', '84', '112', '--json', str(out))
    data = json.loads(out.read_text())
    analytic = internvit_macs(ViTShape.from_arch('tiny'), (84, 112))['total']
    assert data['shape'] == [84, 112] and data['flops'] == analytic == data['internvit']['analytic']
    assert data['internvit']['within_tolerance'] and data['internvit']['ratio'] == 1.0
    assert data['params'] == sum(r['params'] for r in data['rows']) == data['internvit']['params']
    assert sum(r['macs'] for r in data['rows']) == data['flops']
    text = result.stdout
    assert '| blocks.*.attn.qkv ' in text and 'N = 49 tokens' in text and 'ratio 1.0000 (within 2%)' in text
    assert 'L*N*(4C^2 + 2CF)' in text and '1 multiply-accumulate = 1 FLOP' in text


@pytest.fixture(scope='module')
def benchmark_run(tmp_path_factory):
    """One tiny run with both references, all step kinds and three sizes (1 round: structure, not speed)."""
    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    result = run_tool('analysis/benchmark.py', '--presets', 'tiny', '--sizes', '112', '224', '448', '--references',
                      'sdpa', 'eager', '--repeats', '2', '--threads', '1', '--quiet', '--json', str(out))
    return result.stdout, json.loads(out.read_text())


def test_benchmark_rows_and_ratios(benchmark_run):
    text, data = benchmark_run
    rows = data['rows']
    kinds = {(r['case']['mode'], r['case']['checkpointing']) for r in rows}
    assert len(rows) == 9 and kinds == {('forward', False), ('train', False), ('train', True)}
    for row in rows:
        res = row['results']
        assert set(res) == {'internvl_mm', 'hf-sdpa', 'hf-eager', 'matmul ceiling'}
        assert all(len(m['times']) == 2 and m['median_s'] == statistics.median(m['times']) for m in res.values())
        ours = res['internvl_mm']['times']
        for ref in ('hf-sdpa', 'hf-eager'):
            # paired ratios, median over rounds
            assert row['speedup'][ref] == pytest.approx(statistics.median(
                [t / o for t, o in zip(res[ref]['times'], ours)]))
        assert row['roofline']['internvl_mm'] == pytest.approx(statistics.median(
            [c / o for c, o in zip(res['matmul ceiling']['times'], ours)]))
        assert res['internvl_mm']['gflops_per_s'] == pytest.approx(row['flops'] / res['internvl_mm']['median_s']
                                                                    / 1e9)
        # same weights, same results: outputs (forward) or loss and every gradient (train)
        assert max(row['out_rel_err'].values()) <= 1e-5
        if row['case']['mode'] == 'train':
            assert max(row['grad_rel_err'].values()) <= 1e-5
        assert all(res[n]['peak_bytes'] > 0 for n in ('internvl_mm', 'hf-sdpa', 'hf-eager'))


def test_benchmark_flop_accounting(benchmark_run):
    _, data = benchmark_run
    for row in data['rows']:
        case = row['case']
        forward = 2 * internvit_macs(ViTShape.from_arch('tiny'), (case['size'], case['size']))['total']
        patch = 2 * (row['tokens'] - 1) * 3 * 14 * 14 * 64
        if case['mode'] == 'forward':
            assert row['flops'] == row['useful_flops'] == forward
        else:  # backward: two products per forward product, no input gradient for the image
            assert row['useful_flops'] == 3 * forward - patch
            assert row['flops'] == row['useful_flops'] + (forward - patch) * case['checkpointing']


def test_benchmark_memory_is_linear_in_tokens_without_an_attention_matrix(benchmark_run):
    text, data = benchmark_run
    ours = {(g['mode'], g['checkpointing']): g for g in data['memory_linearity']['internvl_mm']}
    eager = {(g['mode'], g['checkpointing']): g for g in data['memory_linearity']['hf-eager']}
    assert len(ours) == 3 and all(g['linear'] for g in ours.values())
    assert not any(g['linear'] for g in eager.values())  # eager attention materialises N x N per head
    assert '## Cost against the token count' in text and 'NOT linear' in text
    assert 'load average' in text and 'command: python tools/analysis/benchmark.py' in text


def test_benchmark_bf16_and_one_line_errors(capsys):
    tool = load_tool('benchmark')
    tool.main(['--presets', 'tiny', '--sizes', '56', '--steps', 'forward', '--dtypes', 'bf16', '--repeats', '1',
               '--quiet'])
    out = capsys.readouterr().out
    assert re.search(r'\| tiny +\| +4 \| +56 \| +17 \| +1 \| bf16 +\| forward', out), out
    assert 'command: python tools/analysis/benchmark.py --presets tiny --sizes 56' in out
    assert 'None' not in out and 'MFU: - (no peak FLOP rate for this device' in out  # no peak known on a CPU
    for argv, message in [(['--presets', '7b'], "--presets: unknown '7b'; choose from tiny, 300m, 6b"),
                          (['--dtypes', 'fp16'], "--dtypes: unknown 'fp16'"),
                          (['--sdpa-backend', 'flash_attention'], 'selects CUDA kernels'),
                          (['--sizes', '0'], '--sizes must be positive')]:
        with pytest.raises(SystemExit) as exit_info:
            tool.main(argv)
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 1 and len(err.splitlines()) == 1 and message in err, err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            tool.main(['--device', 'cuda'])
        assert 'CUDA is not available on this machine' in capsys.readouterr().err


def test_benchmark_help_states_its_defaults(capsys):
    with pytest.raises(SystemExit):
        load_tool('benchmark').parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'see above' not in text and 'on the CPU 300m 4 of 24, 6b 2 of 48' in text


def test_get_flops_one_line_errors(capsys):
    tool = load_tool('get_flops')
    for argv, message in [(['7b'], "Unknown InternViT arch '7b'"), (['tiny', '--shape', '1', '2', '3'], '--shape'),
                          (['configs/nope.py'], 'config file configs/nope.py does not exist')]:
        with pytest.raises(SystemExit) as exit_info:
            import sys
            old = sys.argv
            sys.argv = ['get_flops.py', *argv]
            try:
                tool.main()
            finally:
                sys.argv = old
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 1 and len(err.splitlines()) == 1 and message in err, err

"""InternViT throughput and peak memory, side by side with transformers' InternVLVisionModel (same weights) and the
matmul ceiling of the same shapes, measured in the same run (interleaved rounds, medians, paired ratios).

    python tools/analysis/benchmark.py [--presets tiny 300m 6b] [--sizes 224 448 896] [--steps forward train]
        [--checkpointing off on] [--dtypes fp32] [--batch 1] [--blocks N] [--references sdpa eager|none]
        [--warmup 1] [--repeats 3] [--json FILE]
    python tools/analysis/benchmark.py --device cuda --presets 6b --sizes 224 448 --steps forward \\
        --batch 1 8 32 64 [--sdpa-backend flash] [--peak-tflops 989]          # images/s and MFU on a GPU

CPU defaults: fp32 (a CPU without native bf16 runs bf16 matmuls ~100x slower), 300m with 4 of its 24 blocks and
6b with 2 of its 48 (blocks are identical: time and memory per block scale). CUDA defaults: bf16, full depth,
batches 1 8 32 64, CUDA events, 3 warm-ups and 10 rounds. tools/analysis/lib/benchmark.py describes the method.
"""
import argparse
import gc
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402

from internvl_mm.errors import UserError  # noqa: E402
from tools.analysis.lib import benchmark as bench  # noqa: E402
from tools.analysis.lib.flops import table  # noqa: E402
from tools.cli import one_line_errors  # noqa: E402

SDPA_BACKENDS = ('auto', 'flash_attention', 'efficient_attention', 'cudnn_attention', 'math')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='InternViT side-by-side benchmark')
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:i]')
    parser.add_argument('--presets', nargs='+', default=['tiny', '300m', '6b'], help=f'of {list(bench.PRESETS)}')
    cpu_depths = ', '.join(f'{preset} {blocks} of {bench.resolve_arch(arch)["num_layers"]}'
                           for preset, (arch, blocks) in bench.PRESETS.items() if blocks)
    parser.add_argument('--blocks', type=int,
                        help=f'blocks per model, 0 = full depth (default: full depth on CUDA; on the CPU {cpu_depths}, '
                             'the other presets full depth)')
    parser.add_argument('--sizes', nargs='+', type=int, default=[224, 448, 896], help='input sizes (square)')
    parser.add_argument('--dtypes', nargs='+', help='fp32 and/or bf16 (default: fp32 on CPU, bf16 on CUDA)')
    parser.add_argument('--steps', nargs='+', default=['forward', 'train'], help='forward and/or train')
    parser.add_argument('--checkpointing', nargs='+', default=['off', 'on'],
                        help='train steps without (off) and/or with (on) activation checkpointing')
    parser.add_argument('--batch', nargs='+', type=int, help='batch sizes (default: 1 on CPU, 1 8 32 64 on CUDA)')
    parser.add_argument('--references', nargs='+', default=['sdpa'],
                        help='transformers attention implementations to compare with: sdpa, eager, or none')
    parser.add_argument('--sdpa-backend', nargs='+', default=['auto'], help=f'CUDA SDPA kernels: {SDPA_BACKENDS}')
    parser.add_argument('--peak-tflops', type=float,
                        help='the device\'s dense peak for MFU (default: by GPU name; none on the CPU)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile every implementation (fuses elementwise ops on a GPU)')
    parser.add_argument('--warmup', type=int, help='untimed runs per case (default: 1 CPU, 3 CUDA)')
    parser.add_argument('--repeats', type=int, help='timed rounds per case (default: 3 CPU, 10 CUDA)')
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', metavar='FILE', help='also write every measurement as JSON')
    parser.add_argument('--quiet', action='store_true', help='no per-round progress')
    return parser.parse_args(argv)


def validate(args):
    """Turn the options into a device, cases and settings, with one-line errors for mistakes."""
    def check(values, allowed, option):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise UserError(f'{option}: unknown {", ".join(map(repr, bad))}; choose from {", ".join(allowed)}')

    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise UserError(f'--device {args.device}: CUDA is not available on this machine; use --device cpu')
    if device.type not in ('cpu', 'cuda'):
        raise UserError(f'--device must be cpu or cuda, got {args.device!r}')
    cuda = device.type == 'cuda'
    check(args.presets, list(bench.PRESETS), '--presets')
    args.dtypes = args.dtypes or (['bf16'] if cuda else ['fp32'])
    check(args.dtypes, list(bench.DTYPES), '--dtypes')
    check(args.steps, ['forward', 'train'], '--steps')
    check(args.checkpointing, ['off', 'on'], '--checkpointing')
    args.references = [] if args.references == ['none'] else args.references
    check(args.references, list(bench.REFERENCES), '--references')
    check(args.sdpa_backend, SDPA_BACKENDS, '--sdpa-backend')
    if 'auto' in args.sdpa_backend and len(args.sdpa_backend) > 1:
        raise UserError('--sdpa-backend: auto cannot be combined with named backends')
    backends = None if args.sdpa_backend == ['auto'] else args.sdpa_backend
    if backends and not cuda:
        raise UserError('--sdpa-backend selects CUDA kernels; on the CPU PyTorch picks its flash kernel itself')
    batches = args.batch or ([1, 8, 32, 64] if cuda else [1])
    for name, values in (('--sizes', args.sizes), ('--batch', batches)):
        if any(v <= 0 for v in values):
            raise UserError(f'{name} must be positive, got {values}')
    if args.blocks is not None and args.blocks < 0:
        raise UserError(f'--blocks must be >= 0, got {args.blocks}')
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    repeats = args.repeats if args.repeats is not None else (10 if cuda else 3)
    if warmup < 1 or repeats < 1:
        raise UserError('--warmup and --repeats must be >= 1 (the first warm-up checks outputs and memory)')
    peak = args.peak_tflops
    if peak is None and cuda:
        peak = bench.gpu_peak_tflops(torch.cuda.get_device_name(device), bench.DTYPES[args.dtypes[0]])
    if args.threads:
        torch.set_num_threads(args.threads)

    cases = []
    for preset in args.presets:
        arch, cpu_blocks = bench.PRESETS[preset]
        full = bench.resolve_arch(arch)['num_layers']
        blocks = args.blocks if args.blocks is not None else (None if cuda else cpu_blocks)
        blocks = min(blocks or full, full)
        for dtype in args.dtypes:
            for step in args.steps:
                for cp in (args.checkpointing if step == 'train' else ['off']):
                    for size in args.sizes:
                        for batch in batches:
                            cases.append(bench.Case(preset, blocks, size, dtype, step, cp == 'on', batch))
    return device, cases, dict(warmup=warmup, repeats=repeats, peak_tflops=peak, sdpa_backends=backends,
                               compile=args.compile)


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors('benchmark'):
        device, cases, settings = validate(args)
        env_before = bench.environment(device)
        log = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
        if device.type == 'cpu' and 'bf16' in args.dtypes:
            log('note: bf16 on a CPU without native bf16 matmuls runs ~100x slower than fp32')
        rows = []
        for i, case in enumerate(cases):
            log(f'[{i + 1}/{len(cases)}] {case.label}')
            try:
                row = bench.run_case(case, device, args.references, seed=args.seed, log=log, **settings)
            except (torch.cuda.OutOfMemoryError, MemoryError) as e:
                row = bench.Row(case, 0, 0, 0, 0, {}, {}, {}, {}, {}, error=f'out of memory ({type(e).__name__})')
                log(f'  {row.error}')
            rows.append(row)
            gc.collect()
            if device.type == 'cuda':
                torch.cuda.empty_cache()
        env_after = bench.environment(device)
        print(report(args, device, rows, settings, env_before, env_after, argv))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(command=command_line(argv), environment=dict(before=env_before, after=env_after),
                               settings={k: v for k, v in settings.items()}, targets=bench.TARGETS,
                               rows=[r.to_dict() for r in rows],
                               memory_linearity={n: bench.memory_linearity(rows, n) for n in
                                                 [bench.OURS] + [bench.REFERENCES[a] for a in args.references]},
                               checks=[dict(check=c, ok=ok, target=t) for c, ok, t in
                                       bench.target_checks(rows, device)]), f, indent=1)
        if any(r.error for r in rows) and all(r.error for r in rows):
            sys.exit(1)


def command_line(argv=None) -> str:
    return 'python tools/analysis/benchmark.py ' + ' '.join(shlex.quote(a) for a in
                                                            (sys.argv[1:] if argv is None else argv))


def report(args, device, rows, settings, env_before, env_after, argv=None) -> str:
    env = ', '.join(f'{k} {v}' for k, v in env_before.items() if k != 'loadavg')
    lines = [f'# InternViT benchmark: {env}',
             f'command: {command_line(argv)}',
             f'load average (1, 5, 15 min) before {env_before.get("loadavg")}, after {env_after.get("loadavg")}; '
             f'{settings["warmup"]} warm-up(s), {settings["repeats"]} interleaved rounds, medians',
             '']
    headers, body = bench.results_table(rows, args.references)
    lines += [table(headers, body), '']
    lines += ['GFLOP/s: executed matmul FLOPs of the step (2 per multiply-accumulate; a train step is forward + '
              'backward, no optimizer step; checkpointing adds the recomputed forward) / median time. roofline: '
              'matmul ceiling time / model time (median of per-round ratios). speedup: reference time / '
              f'{bench.OURS} time (median of per-round ratios; > 1 = {bench.OURS} faster). Peak MB: allocated by '
              'the step on top of weights and input. max rel err: outputs (and gradients in train steps) against '
              f'{bench.OURS}. MFU: ' + (f'useful FLOPs / time / {settings["peak_tflops"]} TFLOP/s.'
                                        if settings['peak_tflops'] else
                                        '- (no peak FLOP rate for this device; --peak-tflops sets one).'), '']
    headers, body = bench.scaling_table(rows, args.references)
    if body:
        lines += ['## Cost against the token count', '', table(headers, body), '']
        for name in [bench.OURS] + [bench.REFERENCES[a] for a in args.references]:
            for g in bench.memory_linearity(rows, name):
                slopes = ', '.join(f'{s:.3f}' for s in g['slopes_mb_per_token'])
                lines.append(f'- {name} {g["preset"]} {g["dtype"]} {g["mode"]}{" +cp" if g["checkpointing"] else ""}'
                             f': peak MB per added token {slopes} over {g["sizes"]} px -> last/first '
                             f'{g["ratio"]:.2f}: {"linear" if g["linear"] else "NOT linear"} in the token count')
        lines.append('')
    checks = bench.target_checks(rows, device)
    if checks:
        lines += ['## Targets (6B-width rows)', '']
        lines += [f'- {"PASS" if ok else "MISS"} {text}' for text, ok, _ in checks]
    return '\n'.join(lines)


if __name__ == '__main__':
    main()

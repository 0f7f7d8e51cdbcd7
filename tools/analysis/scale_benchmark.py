"""What activation checkpointing and each sharding strategy cost and save, measured side by side on this machine.

    python tools/analysis/scale_benchmark.py [--depth 12] [--batch 32] [--size 128] [--repeats 5] [--ranks 2]

1. Activation checkpointing (one process): peak allocated memory of a training step (torch profiler) and the median
   step time of interleaved repeats, for the demo InternViT at ``--depth`` blocks, with and without ``with_cp``.
2. Strategies (``--ranks`` CPU processes, gloo): per-rank parameter / gradient / optimizer / master bytes read from
   the engine (``ModelStateBytesHook`` in tools/analysis/lib/model_state.py, which the runs' configs import) and the
   median step time, for DDP, ZeRO-1/2/3 and FSDP on the demo classifier, in fp32 and (DeepSpeed) bf16, through
   tools/train.py as a user runs it.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # the profiler warns that no GPU is present
import torch  # noqa: E402

DEMO_CLS = osp.join(ROOT, 'projects', 'shapes_demo', 'configs', 'classification',
                    'full-ft_internvit-demo_shapes-cls.py')
STRATEGIES = osp.join(ROOT, 'configs', '_base_', 'strategies')


def demo_backbone(depth: int, size: int, with_cp: bool):
    from internvl_mm.models import InternViT
    return InternViT(dict(embed_dims=96, num_layers=depth, num_heads=3, feedforward_channels=384, img_size=size,
                          patch_size=8), out_type='avg_featmap', with_cp=with_cp)


def peak_allocated_bytes(step) -> int:
    """Peak of the bytes torch allocates while ``step`` runs (allocator events, chronological)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    running = peak = 0
    for event in sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start):
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return peak


def checkpointing_benchmark(depth: int, batch: int, size: int, repeats: int) -> dict:
    torch.manual_seed(0)
    images = torch.randn(batch, 3, size, size)
    runs = {}
    for with_cp in (False, True):
        model = demo_backbone(depth, size, with_cp).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(model=model, optimizer=optimizer):
            model(images)[0].square().mean().backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        step()  # warm-up, optimizer states allocated
        runs[with_cp] = dict(step=step, peak=peak_allocated_bytes(step), times=[])
    for _ in range(repeats):  # interleaved, so both see the same machine state
        for with_cp, run in runs.items():
            start = time.perf_counter()
            run['step']()
            run['times'].append(time.perf_counter() - start)
    return {cp: dict(peak=r['peak'], time=statistics.median(r['times'])) for cp, r in runs.items()}


STRATEGY_CONFIG = '''
_base_ = ['{task}', '{strategy}']
custom_imports = dict(imports=[*_base_.custom_imports.imports, 'tools.analysis.lib.model_state'],
                      allow_failed_imports=False)
default_hooks = dict(model_state=dict(type='ModelStateBytesHook'), logger=dict(interval=1))
model = dict(backbone=dict(arch=dict(num_layers={depth})))
'''
PRECISION = {
    'fp32': {'zero': ['strategy.bf16.enabled=False', 'strategy.inputs_to_half=None'],
             'fsdp': ['strategy.model_wrapper=None'], 'ddp': []},
    'bf16': {'zero': [], 'fsdp': [], 'ddp': []},
}


def strategy_run(strategy: str, precision: str, ranks: int, depth: int, data_root: str, port: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        config = osp.join(work, f'{strategy}.py')
        with open(config, 'w') as f:
            f.write(STRATEGY_CONFIG.format(task=DEMO_CLS, strategy=osp.join(STRATEGIES, f'{strategy}.py'),
                                           depth=depth))
        family = 'zero' if strategy.startswith('zero') else strategy
        options = [*PRECISION[precision][family], f'train_dataloader.dataset.data_root={data_root}',
                   f'val_dataloader.dataset.data_root={data_root}', 'train_dataloader.dataset.indices=96',
                   'train_dataloader.batch_size=8', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=100',
                   'default_hooks.checkpoint.interval=100', 'train_dataloader.num_workers=0',
                   'train_dataloader.persistent_workers=False']
        env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1')
        result = subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, str(ranks), '--work-dir',
                                 work, '--cfg-options', *options], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise SystemExit(f'{strategy} ({precision}) failed:\n{result.stderr[-3000:]}')
        times = []
        for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
            with open(path) as f:
                times += [json.loads(line)['time'] for line in f if '"time"' in line and '"loss"' in line]
        with open(osp.join(work, 'model_state_bytes_rank0.json')) as f:
            state = json.load(f)
    return dict(state=state, time=statistics.median(times[1:]))  # the first step includes warm-up


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=12)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--ranks', type=int, default=2)
    parser.add_argument('--skip-strategies', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    cp = checkpointing_benchmark(args.depth, args.batch, args.size, args.repeats)
    mem_ratio, time_ratio = cp[False]['peak'] / cp[True]['peak'], cp[True]['time'] / cp[False]['time']
    print(f'activation checkpointing: demo InternViT, {args.depth} blocks, batch {args.batch} x {args.size} px, '
          f'fp32, {args.repeats} interleaved repeats')
    print(f'{"":<16}{"peak MiB":>10}{"step s":>9}')
    for with_cp in (False, True):
        print(f'{"with_cp" if with_cp else "no checkpoint":<16}{cp[with_cp]["peak"] / 2**20:>10.1f}'
              f'{cp[with_cp]["time"]:>9.3f}')
    print(f'peak memory cut {mem_ratio:.2f}x (target >= 2.5x) for {time_ratio:.2f}x the step time '
          f'(target <= 1.35x)\n')
    if args.skip_strategies:
        return

    from projects.shapes_demo.shapes import ensure_shapes_dataset
    data_root = ensure_shapes_dataset(osp.join(ROOT, 'data', 'shapes'), 'cls')[0]
    port = 29900
    rows = []
    for precision in ('fp32', 'bf16'):
        for strategy in ('ddp', 'zero1', 'zero2', 'zero3', 'fsdp'):
            if precision == 'bf16' and strategy in ('ddp', 'fsdp'):
                continue  # plain bf16 DDP needs AMP (CUDA only); FSDP bf16 keeps fp32 shards, as fp32
            port += 1
            rows.append((precision, strategy, strategy_run(strategy, precision, args.ranks, args.depth, data_root,
                                                           port)))
    ddp = next(r for p, s, r in rows if s == 'ddp')
    ddp_bytes = sum(ddp['state'].values())
    print(f'strategies: demo classifier ({args.depth} blocks), {args.ranks} CPU ranks (gloo), batch 8 per rank; '
          f'bytes per rank read from the engine')
    print(f'{"precision":<10}{"strategy":<10}{"params":>9}{"grads":>9}{"optim":>9}{"master":>9}{"total MiB":>11}'
          f'{"vs DDP":>8}{"step s":>8}{"vs DDP":>8}')
    for precision, strategy, run in rows:
        state = run['state']
        total = sum(state.values())
        print(f'{precision:<10}{strategy:<10}' + ''.join(f'{state[k] / 2**20:>9.2f}' for k in
                                                         ('params', 'grads', 'optimizer', 'master'))
              + f'{total / 2**20:>11.2f}{total / ddp_bytes:>8.2f}{run["time"]:>8.3f}{run["time"] / ddp["time"]:>8.2f}')
    print('(DDP holds fp32 weights, gradients and optimizer states on every rank; the ZeRO-3 target is <= 0.55x)')


if __name__ == '__main__':
    main()

"""Inference throughput of a config + checkpoint on its test data, as mmseg's / mmdet's
tools/analysis_tools/benchmark.py measure it (tools/analysis/benchmark.py is the backbone micro-benchmark).

    python tools/analysis/benchmark_config.py CONFIG CHECKPOINT [--warmup 5] [--iters 50] [--log-interval 10]
        [--batch-size N] [--workers N] [--device cpu|cuda] [--cfg-options k=v ...] [--json FILE]

The config's test dataloader feeds the model's ``test_step`` (data preprocessor, forward and post-processing, as
in tools/test.py), under ``torch.no_grad``; the checkpoint is loaded strictly (any form tools/test.py reads).
The first ``--warmup`` batches are not timed; then images/s over the next ``--iters`` batches (fewer if the test
set ends first), with the running rate every ``--log-interval`` batches. CUDA timings synchronise each batch.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from tools.cli import build_model, check_data_roots, load_config, one_line_errors  # noqa: E402


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Images/s of a config + checkpoint on its test dataloader')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint (any form tools/test.py reads)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed batches first (default %(default)s)')
    parser.add_argument('--iters', type=int, default=50, help='timed batches (default %(default)s)')
    parser.add_argument('--log-interval', type=int, default=10, help='print the running rate every N batches')
    parser.add_argument('--batch-size', type=int, help="override test_dataloader.batch_size")
    parser.add_argument('--workers', type=int, help='override test_dataloader.num_workers')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='default: cuda if available, else cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. test_dataloader.dataset.data_root=PATH')
    parser.add_argument('--json', metavar='FILE', help='also write the result as JSON')
    return parser.parse_args()


def test_loader(cfg, batch_size=None, workers=None):
    from mmengine.runner import Runner
    loader = cfg.test_dataloader.copy()
    if batch_size is not None:
        loader.batch_size = batch_size
    if workers is not None:
        loader.num_workers = workers
        if workers == 0:
            loader.persistent_workers = False
    check_data_roots(cfg, ['test_dataloader'])
    return Runner.build_dataloader(loader)


def benchmark(model, loader, warmup: int, iters: int, log_interval: int, device: str) -> dict:
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    images, elapsed, timed = 0, 0.0, 0
    with torch.no_grad():
        for i, data in enumerate(loader):
            if timed == iters:
                break
            sync()
            start = time.perf_counter()
            model.test_step(data)
            sync()
            if i < warmup:
                continue
            elapsed += time.perf_counter() - start
            images += len(data['inputs'])
            timed += 1
            if log_interval and timed % log_interval == 0:
                print(f'Done batch [{timed:>3}/{iters}], fps: {images / elapsed:.2f} img / s')
    if not timed:
        raise ConfigError(f'the test set has no batch left after {warmup} warm-up batches; lower --warmup')
    return dict(images=images, batches=timed, seconds=elapsed, fps=images / elapsed)


def main():
    args = parse_args()
    with one_line_errors('benchmark_config'):
        if args.warmup < 0 or args.iters < 1:
            raise ConfigError('--warmup must be >= 0 and --iters >= 1')
        cfg = load_config(args.config, args.cfg_options)
        from internvl_mm.engine.checkpoints import load_checkpoint_strict
        model = build_model(cfg)
        load_checkpoint_strict(model, args.checkpoint)
        model = model.to(args.device).eval()
        loader = test_loader(cfg, args.batch_size, args.workers)
        result = benchmark(model, loader, args.warmup, args.iters, args.log_interval, args.device)
        print(f'Overall fps: {result["fps"]:.2f} img / s ({result["images"]} images in {result["batches"]} timed '
              f'batches of {loader.batch_size}, after {args.warmup} warm-up batches; device {args.device})')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(dict(result, config=args.config, checkpoint=args.checkpoint, device=args.device,
                               batch_size=loader.batch_size, warmup=args.warmup), f, indent=2)


if __name__ == '__main__':
    main()

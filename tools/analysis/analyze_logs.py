"""Curves and training time from the JSON logs of tools/train.py, as mmpretrain's / mmdet's analyze_logs.py give
them.

    python tools/analysis/analyze_logs.py plot_curve LOG [LOG ...] [--keys loss accuracy/top1] [--legend ...]
        [--title T] [--out curves.png]
    python tools/analysis/analyze_logs.py cal_train_time LOG [LOG ...] [--include-outliers]

LOG is mmengine's scalar log: a run's ``vis_data/scalars.json`` (or ``<timestamp>.json``), or a run or work folder,
where the newest such file is used. Training lines carry ``step`` = the iteration and ``time`` (seconds per
iteration); validation lines carry the metrics with ``step`` = the epoch (epoch-based) or iteration. The toolboxes'
own scripts are not installed with their packages, and none of their library functions reads these logs, so the
reading and plotting (matplotlib) are here.
"""
import argparse
import glob
import json
import os
import sys
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from internvl_mm.errors import ConfigError, MissingFileError  # noqa: E402
from tools.cli import one_line_errors  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Analyse the JSON logs of training runs')
    commands = parser.add_subparsers(dest='command', required=True)
    plot = commands.add_parser('plot_curve', help='plot logged values over iterations')
    plot.add_argument('logs', nargs='+', help='scalars.json files, or run / work folders')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='logged keys to plot (default: loss)')
    plot.add_argument('--legend', nargs='+', help='one label per log and key (default: LOG:KEY)')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--out', help='write the figure to this file (default: show it)')
    timing = commands.add_parser('cal_train_time', help='seconds per iteration, slowest and fastest epoch')
    timing.add_argument('logs', nargs='+', help='scalars.json files, or run / work folders')
    timing.add_argument('--include-outliers', action='store_true',
                        help='keep the first logged value of each epoch (start-up cost) in the average')
    return parser.parse_args()


def find_log(path: str) -> str:
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, '**', 'vis_data', 'scalars.json'), recursive=True),
                       key=os.path.getmtime)
        if found:
            return found[-1]
    raise MissingFileError(f'{path} is neither a JSON log nor a folder holding */vis_data/scalars.json; give the '
                           f'scalars.json of a tools/train.py run (work_dirs/<config>/<time>/vis_data/)')


def read_log(path: str) -> List[Dict]:
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines:
        raise MissingFileError(f'{path} has no logged lines')
    return lines


def train_lines(lines: List[Dict]) -> List[Dict]:
    return [line for line in lines if 'time' in line and 'step' in line]


def plot_curve(args):
    import matplotlib
    if args.out:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = []
    for log in args.logs:
        lines = read_log(find_log(log))
        for key in args.keys:
            points = [(line['step'], line[key]) for line in lines if key in line and 'step' in line]
            if not points:
                known = sorted({k for line in lines for k in line} - {'step', 'epoch', 'iter'})
                raise ConfigError(f'{log} has no logged {key!r}; it logs {", ".join(known)}')
            curves.append((f'{log}:{key}', points))
    legend = args.legend or [name for name, _ in curves]
    if len(legend) != len(curves):
        raise ConfigError(f'--legend needs {len(curves)} labels (one per log and key), got {len(legend)}')
    figure = plt.figure()
    for label, (_, points) in zip(legend, curves):
        xs, ys = zip(*points)
        plt.plot(xs, ys, label=label, marker='o' if len(xs) < 20 else None)
        print(f'{label}: {len(xs)} points, last {ys[-1]:.4g} at step {xs[-1]}')
    plt.xlabel('step (iteration; epoch for epoch-based validation)')
    plt.legend()
    if args.title:
        plt.title(args.title)
    if args.out:
        figure.savefig(args.out, bbox_inches='tight')
        print(f'figure written to {args.out}')
    else:
        plt.show()


def cal_train_time(args):
    for log in args.logs:
        path = find_log(log)
        lines = train_lines(read_log(path))
        if not lines:
            raise ConfigError(f'{path} has no training lines (with "time"); is it a training log?')
        by_epoch: Dict[int, List[float]] = {}
        for line in lines:
            by_epoch.setdefault(int(line.get('epoch', 1)), []).append(float(line['time']))
        if not args.include_outliers:
            by_epoch = {e: (t[1:] or t) for e, t in by_epoch.items()}
        means = {e: sum(t) / len(t) for e, t in by_epoch.items()}
        every = [t for ts in by_epoch.values() for t in ts]
        slowest, fastest = max(means, key=means.get), min(means, key=means.get)
        print(f'-----Analyze train time of {path}-----')
        print(f'slowest epoch {slowest}, average time is {means[slowest]:.4f} s/iter')
        print(f'fastest epoch {fastest}, average time is {means[fastest]:.4f} s/iter')
        print(f'time std over epochs is {_std(list(means.values())):.4f}')
        print(f'average iter time: {sum(every) / len(every):.4f} s/iter')


def _std(values: List[float]) -> float:
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def main():
    args = parse_args()
    with one_line_errors('analyze_logs'):
        plot_curve(args) if args.command == 'plot_curve' else cal_train_time(args)


if __name__ == '__main__':
    main()

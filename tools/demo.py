"""The internvl_mm demo: every task trained and evaluated on the embedded shapes data, on CPU, through the same
tools a user runs (tools/train.py, then tools/test.py on the last checkpoint).

    python tools/demo.py [--tasks classification ...] [--work-dir work_dirs/demo] [--data-root data/shapes]
                         [--smoke]

Prints a table: task, config, metric, value, target, wall time, peak memory of training. ``--smoke`` runs the same
pipeline on tiny data for a few iterations (what the tests do to prove the wiring; its numbers mean nothing).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from projects.shapes_demo.shapes import ensure_shapes_dataset  # noqa: E402

CONFIGS = osp.join('projects', 'shapes_demo', 'configs')


@dataclass
class DemoTask:
    name: str
    data: str  # shapes dataset task
    config: str
    metrics: List[str]  # printed by tools/test.py as key=value; the first one has the target
    target: float
    budget_minutes: float
    smoke_options: tuple = ()  # --cfg-options that shrink the run for --smoke
    init_from: Optional[str] = None  # start the backbone from this task's last checkpoint (transfer)
    init_key: str = 'model.backbone.init_cfg.checkpoint'  # the option that receives that checkpoint
    train_scalars: tuple = ()  # training scalars reported first -> last; each must fall for the target to be met
    ranks: int = 1  # training processes (torchrun, one thread each; the config's batch size is per rank)


SMOKE_DATA = dict(num_train=48, num_val=16)
SMOKE_LOADERS = tuple(f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
                      for key in ('num_workers=0', 'persistent_workers=False'))


TASKS = [
    DemoTask('classification', 'cls', osp.join(CONFIGS, 'classification', 'full-ft_internvit-demo_shapes-cls.py'),
             ['accuracy/top1'], 95.0, 5,
             smoke_options=('train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
                            'default_hooks.checkpoint.interval=1')),
    DemoTask('segmentation', 'seg', osp.join(CONFIGS, 'segmentation', 'upernet-full_internvit-demo_shapes-seg.py'),
             ['mIoU', 'aAcc'], 70.0, 5,
             smoke_options=('train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=4',
                            'default_hooks.checkpoint.interval=2'),
             init_from='classification'),
    DemoTask('segmentation-lora', 'seg',
             osp.join(CONFIGS, 'segmentation', 'upernet-lora_internvit-demo_shapes-seg.py'), ['mIoU', 'aAcc'], 70.0, 5,
             smoke_options=('train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=4',
                            'default_hooks.checkpoint.interval=2'),
             init_from='classification'),
    DemoTask('detection', 'det', osp.join(CONFIGS, 'detection', 'mask-rcnn_internvit-demo_shapes-det.py'),
             ['coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'], 0.50, 8,
             smoke_options=('train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=2',
                            'default_hooks.checkpoint.interval=2'),
             init_from='classification'),
    DemoTask('pretraining-c', 'caption',
             osp.join(CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py'),
             ['retrieval/i2t_R@1', 'retrieval/t2i_R@1', 'retrieval/i2t_R@5', 'zero-shot/top1'], 90.0, 6,
             smoke_options=('train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
                            'default_hooks.checkpoint.interval=1'),
             ranks=2),
    DemoTask('pretraining-g', 'caption',
             osp.join(CONFIGS, 'pretraining', 'internvl-g_internvit-demo_shapes-caption.py'),
             ['retrieval/i2t_R@1', 'retrieval/t2i_R@1', 'zero-shot/top1'], 0.0, 3,
             smoke_options=('train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'train_dataloader.batch_size=16',
                            'default_hooks.checkpoint.interval=2'),
             init_from='pretraining-c', init_key='model.init_cfg.checkpoint',
             train_scalars=('loss_itc', 'loss_itm', 'loss_itg')),
]


def run(cmd: List[str], log_path: str, env: Optional[dict] = None) -> str:
    """Run a tool, log its output, and fail with the log's tail if it fails."""
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                              env=None if env is None else {**os.environ, **env})
        log.write(proc.stdout)
    if proc.returncode != 0:
        tail = '\n'.join(proc.stdout.splitlines()[-25:])
        tool = next(arg for arg in cmd if arg.startswith('tools/'))
        raise SystemExit(f'demo: {tool} failed (log: {log_path}):\n{tail}')
    return proc.stdout


def train_command(config: str, ranks: int) -> List[str]:
    """tools/train.py in one process, or tools/dist_train.sh with ``ranks`` data-parallel processes on this machine
    (torchrun, gloo, a free port): on a 2-core CPU two single-threaded ranks train faster than one process with two
    threads, whose small element-wise kernels gain little from the second thread."""
    if ranks == 1:
        return [sys.executable, 'tools/train.py', config]
    return ['bash', 'tools/dist_train.sh', config, str(ranks)]


def data_options(task: DemoTask, folder: str) -> List[str]:
    folder = folder.rstrip('/') + '/'
    options = [f'{loader}.dataset.data_root={folder}' for loader in ('train_dataloader', 'val_dataloader',
                                                                     'test_dataloader')]
    if task.data == 'det':  # COCO evaluation reads the ground truth json itself
        options += [f'{e}.ann_file={folder}annotations/instances_val.json' for e in ('val_evaluator',
                                                                                   'test_evaluator')]
    if task.data == 'caption':  # the tokenizer trained on the captions lives in the data folder
        options += [f'model.tokenizer={folder}tokenizer'] + [
            f'{loader}.dataset.pipeline.{step}.tokenizer={folder}tokenizer'
            for loader, step in (('train_dataloader', 2), ('val_dataloader', 1), ('test_dataloader', 1))]
    return options


def last_checkpoint(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def init_options(task: DemoTask, work_root: str) -> List[str]:
    """Start from the ``init_from`` task's checkpoint (``init_key``: the backbone, or a whole model)."""
    if task.init_from is None:
        return []
    checkpoint = last_checkpoint(osp.join(work_root, task.init_from))
    return [f'{task.init_key}={checkpoint}']


def run_task(task: DemoTask, work_root: str, data_root: str, smoke: bool = False) -> dict:
    start = time.time()
    folder, _ = ensure_shapes_dataset(data_root, task.data, **(SMOKE_DATA if smoke else {}))
    extra = [*task.smoke_options, *SMOKE_LOADERS] if smoke else []
    extra += init_options(task, work_root)
    work = osp.join(work_root, task.name)
    os.makedirs(work, exist_ok=True)
    print(f'[{task.name}] training {task.config} (log: {work}/train.log)', flush=True)
    run([*train_command(task.config, task.ranks), '--work-dir', work, '--cfg-options', *data_options(task, folder),
         *extra], osp.join(work, 'train.log'),
        env=dict(OMP_NUM_THREADS='1', PYTHON=sys.executable) if task.ranks > 1 else None)
    train_time = time.time() - start
    checkpoint = last_checkpoint(work)
    print(f'[{task.name}] testing {osp.basename(checkpoint)}', flush=True)
    out = run([sys.executable, 'tools/test.py', task.config, checkpoint, '--work-dir', osp.join(work, 'test'),
               '--show-dir', osp.join(work, 'predictions'), '--cfg-options', *data_options(task, folder),
               *(SMOKE_LOADERS if smoke else ())], osp.join(work, 'test.log'))
    values = dict(re.findall(r'(\S+)=([-\d.]+)', out.strip().splitlines()[-1]))
    return dict(task=task.name, config=osp.basename(task.config),
                metrics={m: float(values[m]) for m in task.metrics if m in values}, target=task.target,
                train_s=train_time, total_s=time.time() - start, budget_s=task.budget_minutes * 60,
                scalars=first_and_last(work, task.train_scalars), peak_mb=peak_memory_mb(work),
                trainable=trainable_parameters(work), checkpoint_mb=osp.getsize(checkpoint) / 2**20)


def trainable_parameters(work: str) -> Optional[int]:
    """The trainable parameter count the optimizer constructor logged (adapters + head for LoRA)."""
    found = re.findall(r'trainable tensors \((\d+) parameters\)', open(osp.join(work, 'train.log')).read())
    return int(found[-1]) if found else None


# A training scalar "falls" when the mean of its last few logged values is clearly below that of its first few (one
# noisy record either side decides nothing).
WINDOW = 3
FALL = 0.98


def training_series(work: str, names: tuple) -> Dict[str, List[float]]:
    """The logged training values of each scalar in ``names`` (the newest run of the work dir)."""
    runs = sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')))
    series = {name: [] for name in names}
    for line in (open(runs[-1]).read().splitlines() if runs and names else []):
        record = json.loads(line)
        for name in names:
            if name in record and 'lr' in record:  # training records carry the learning rate
                series[name].append(record[name])
    return series


def first_and_last(work: str, names: tuple) -> dict:
    """(mean of the first WINDOW, mean of the last WINDOW) logged training values of each scalar in ``names``."""
    return {name: (statistics.mean(values[:WINDOW]), statistics.mean(values[-WINDOW:]))
            for name, values in training_series(work, names).items() if values}


def peak_memory_mb(work: str) -> Optional[float]:
    """The training process's peak memory: resident set on CPU (PeakMemoryHook), the CUDA allocator's on GPUs."""
    values = [v for series in training_series(work, ('peak_rss_mb', 'memory')).values() for v in series]
    return max(values) if values else None


def scalars_fall(scalars: dict) -> bool:
    """Whether every (first, last) window mean in ``scalars`` fell clearly (below FALL x the first)."""
    return all(last < FALL * first for first, last in scalars.values())


def _mb(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:,.0f} MB'


def _count(value: Optional[int]) -> str:
    return '-' if value is None else f'{value / 1e6:.2f}M'


def print_table(rows: List[dict]):
    header = (f'{"task":<18} {"config":<48} {"metric":<28} {"value":>7} {"target":>7} {"train":>7} {"total":>7} '
              f'{"peak mem":>9} {"trainable":>9} {"ckpt":>8}')
    print('\n' + header + '\n' + '-' * len(header))
    for r in rows:
        for i, (name, value) in enumerate(r['metrics'].items()):
            first = i == 0
            print(f'{r["task"] if first else "":<18} {r["config"] if first else "":<48} {name:<28} {value:>7.2f} '
                  f'{(">=" + format(r["target"], "g")) if first else "":>7} '
                  f'{(format(r["train_s"] / 60, ".1f") + "m") if first else "":>7} '
                  f'{(format(r["total_s"] / 60, ".1f") + "m") if first else "":>7} '
                  f'{_mb(r["peak_mb"]) if first else "":>9} {_count(r["trainable"]) if first else "":>9} '
                  f'{(format(r["checkpoint_mb"], ".1f") + " MB") if first else "":>8}')
    print()
    for r in rows:
        main = next(iter(r['metrics'].values()), float('nan'))
        falling = scalars_fall(r['scalars'])
        verdict = 'met' if main >= r['target'] and r['total_s'] <= r['budget_s'] and falling else 'NOT met'
        trend = ', '.join(f'{k} {a:.3f} -> {b:.3f}' for k, (a, b) in r['scalars'].items())
        print(f'{r["task"]}: target {r["target"]:g} within {r["budget_s"] / 60:g} min {verdict} '
              f'({main:.2f} in {r["total_s"] / 60:.1f} min){"; training " + trend if trend else ""}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tasks', nargs='+', choices=[t.name for t in TASKS], default=[t.name for t in TASKS])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--data-root', default=osp.join('data', 'shapes'))
    parser.add_argument('--smoke', action='store_true', help='tiny data, a few iterations: checks the wiring only')
    args = parser.parse_args()
    wanted = set(args.tasks)
    for task in TASKS:  # a task that transfers from another needs that one's checkpoint
        if task.name in wanted and task.init_from and not osp.exists(
                osp.join(args.work_dir, task.init_from, 'last_checkpoint')):
            wanted.add(task.init_from)
    rows = [run_task(task, args.work_dir, args.data_root, args.smoke) for task in TASKS if task.name in wanted]
    print_table(rows)


if __name__ == '__main__':
    main()

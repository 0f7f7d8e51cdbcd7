"""The confusion matrix of a classification or segmentation config + checkpoint on its test set, as mmpretrain's
tools/analysis_tools/confusion_matrix.py draws it.

    python tools/analysis/confusion_matrix.py CONFIG CHECKPOINT [--out cm.png] [--pkl cm.pkl] [--show]
        [--include-values] [--cmap viridis] [--cfg-options k=v ...]

mmpretrain's ``ConfusionMatrix`` computes (``calculate``: rows are ground truth, columns predictions) and draws
(``plot``) it; the predictions come from the model's ``test_step`` after tools/test.py's strict checkpoint load.
Classification counts images, segmentation counts pixels (the ignore index left out). Detection has no confusion
matrix in mmdet's package (only in its unpackaged tools/), so detection configs are refused with that message.
"""
import argparse
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from tools.analysis.benchmark_config import test_loader  # noqa: E402
from tools.cli import build_model, load_config, one_line_errors  # noqa: E402


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Confusion matrix of a classifier or segmentor on its test set')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint (any form tools/test.py reads)')
    parser.add_argument('--out', help='write the plot to this image file (png, pdf, ...)')
    parser.add_argument('--pkl', help='write the matrix (a torch tensor) and the class names to this pickle')
    parser.add_argument('--show', action='store_true', help='show the plot in a window')
    parser.add_argument('--include-values', action='store_true', help='print the counts in the cells')
    parser.add_argument('--cmap', default='viridis', help='matplotlib colour map (default %(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. test_dataloader.dataset.data_root=PATH')
    return parser.parse_args()


def predictions_and_targets(model, loader, kind: str, ignore_index: int = 255):
    preds, targets = [], []
    with torch.no_grad():
        for data in loader:
            for sample in model.test_step(data):
                if kind == 'classification':
                    preds.append(sample.pred_label.reshape(-1)[:1])
                    targets.append(sample.gt_label.reshape(-1)[:1])
                else:
                    pred, gt = sample.pred_sem_seg.data.reshape(-1), sample.gt_sem_seg.data.reshape(-1)
                    keep = gt != ignore_index
                    preds.append(pred[keep])
                    targets.append(gt[keep])
    return torch.cat(preds).long(), torch.cat(targets).long()


def task_of(cfg) -> str:
    scope = cfg.get('default_scope')
    if scope == 'mmpretrain' and cfg.model.get('type') != 'InternVL':
        return 'classification'
    if scope == 'mmseg':
        return 'segmentation'
    raise ConfigError(f'a confusion matrix is drawn for classification and segmentation configs; this is a '
                      f'{scope} {cfg.model.get("type")} config (mmdet ships its confusion matrix only in its '
                      f'unpackaged tools/, InternVL retrieval has no classes)')


def main():
    args = parse_args()
    with one_line_errors('confusion_matrix'):
        cfg = load_config(args.config, args.cfg_options)
        kind = task_of(cfg)
        if not (args.out or args.pkl or args.show):
            raise ConfigError('nothing to do: give --out FILE.png, --pkl FILE.pkl and/or --show')
        from mmpretrain.evaluation import ConfusionMatrix

        from internvl_mm.engine.checkpoints import load_checkpoint_strict
        model = build_model(cfg)
        load_checkpoint_strict(model, args.checkpoint)
        model.eval()
        loader = test_loader(cfg)
        classes = list(loader.dataset.metainfo.get('classes') or [])
        ignore = cfg.model.get('decode_head', {}).get('ignore_index', 255)
        pred, target = predictions_and_targets(model, loader, kind, ignore)
        num_classes = len(classes) or int(max(pred.max(), target.max())) + 1
        matrix = ConfusionMatrix.calculate(pred, target, num_classes=num_classes)
        correct = matrix.diag().sum().item() / max(matrix.sum().item(), 1)
        unit = 'images' if kind == 'classification' else 'pixels'
        print(f'{int(matrix.sum())} {unit}, {num_classes} classes; {100 * correct:.2f} % on the diagonal')
        if args.pkl:
            with open(args.pkl, 'wb') as f:
                pickle.dump(dict(confusion_matrix=matrix, classes=classes), f)
            print(f'matrix written to {args.pkl}')
        if args.out or args.show:
            import matplotlib
            if not args.show:
                matplotlib.use('Agg')
            figure = ConfusionMatrix.plot(matrix, include_values=args.include_values, cmap=args.cmap,
                                          classes=classes or None, show=args.show)
            if args.out:
                figure.savefig(args.out, bbox_inches='tight')
                print(f'plot written to {args.out}')


if __name__ == '__main__':
    main()

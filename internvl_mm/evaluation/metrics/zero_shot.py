"""Zero-shot classification accuracy, as InternVL / CLIP report it (clip_benchmark's acc1, acc5 and mean per-class
recall), from the scores of a model's prompt-ensembled zero-shot classifier (``InternVL(zero_shot=...)``)."""
from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from internvl_mm.registry import METRICS


@METRICS.register_module()
class ZeroShotAccuracy(BaseMetric):
    """Top-k accuracy and mean per-class recall (in %) of ``pred_score`` against ``gt_label``.

    ``top1_top5_mean``: also report ``top1_top5_mean``, the mean of top-1 and top-5 accuracy, the number the
    zero-shot Kinetics tables give (CLIP, EVA-CLIP, ViCLIP, InternVL).
    """
    default_prefix = 'zero-shot'

    def __init__(self, topk: Sequence[int] = (1, 5), top1_top5_mean: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)
        if top1_top5_mean and not {1, 5} <= set(self.topk):
            raise ValueError(f'top1_top5_mean needs 1 and 5 in topk, got {self.topk}')
        self.top1_top5_mean = top1_top5_mean

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample or 'gt_label' not in sample:
                raise KeyError('ZeroShotAccuracy needs pred_score (set model.zero_shot=dict(class_names=..., '
                               'templates=...)) and gt_label (a dataset with labels)')
            self.results.append((sample['pred_score'].cpu(), int(sample['gt_label'][0])))

    def compute_metrics(self, results: List) -> dict:
        scores = torch.stack([s for s, _ in results])
        labels = torch.tensor([label for _, label in results])
        ranked = scores.topk(min(max(self.topk), scores.shape[1]), dim=1).indices
        metrics = {f'top{k}': (ranked[:, :k] == labels[:, None]).any(1).float().mean().item() * 100
                   for k in self.topk}
        correct = ranked[:, 0] == labels
        recalls = [correct[labels == c].float().mean().item() for c in labels.unique()]
        metrics['mean_per_class_recall'] = sum(recalls) / len(recalls) * 100
        if self.top1_top5_mean:
            metrics['top1_top5_mean'] = (metrics['top1'] + metrics['top5']) / 2
        return metrics

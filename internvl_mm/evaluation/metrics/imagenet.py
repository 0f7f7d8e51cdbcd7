"""Accuracy variants for the ImageNet robustness sets (see internvl_mm.datasets.imagenet_variants)."""
from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from internvl_mm.registry import METRICS


def _top1(sample) -> int:
    return int(sample['pred_score'].argmax())


@METRICS.register_module()
class SubsetAccuracy(BaseMetric):
    """Top-k accuracy with the 1000-way prediction restricted to the classes the dataset contains
    (``dataset_meta['eval_class_indices']``, e.g. the 200 classes of ImageNet-A / -R), as the papers evaluate."""
    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1, ), collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append((sample['pred_score'].cpu(), int(sample['gt_label'][0])))

    def compute_metrics(self, results: List) -> dict:
        scores = torch.stack([s for s, _ in results])
        labels = torch.tensor([label for _, label in results])
        indices = torch.tensor((self.dataset_meta or {}).get('eval_class_indices', range(scores.shape[1])))
        ranked = indices[scores[:, indices].topk(max(self.topk), dim=1).indices]
        return {f'top{k}': (ranked[:, :k] == labels[:, None]).any(1).float().mean().item() * 100 for k in self.topk}


@METRICS.register_module()
class ReaLAccuracy(BaseMetric):
    """ImageNet-ReaL top-1: the prediction is right if it is any of the image's ReaL labels; images without labels
    are left out, as in Beyer et al. (2020)."""
    default_prefix = 'real'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append((_top1(sample), set(sample['gt_label'].tolist())))

    def compute_metrics(self, results: List) -> dict:
        labelled = [(pred, labels) for pred, labels in results if labels]
        if not labelled:
            raise ValueError('ReaLAccuracy: no evaluated image has a ReaL label')
        return {'top1': sum(pred in labels for pred, labels in labelled) / len(labelled) * 100,
                'num_labelled': len(labelled)}

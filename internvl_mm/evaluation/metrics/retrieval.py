"""Image-text retrieval recall (R@K, image->text and text->image), as reported for Flickr30K and COCO."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from internvl_mm.registry import METRICS


def retrieval_recall(images: torch.Tensor, texts: torch.Tensor, text_to_image: torch.Tensor,
                     topk: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """R@K in % from L2-normalised (I, D) image and (T, D) text embeddings; ``text_to_image[t]`` is the image of
    text ``t``. Image->text: an image counts if any of its texts is among the top K; text->image: if its image is.
    A rank is the number of candidates scoring strictly higher than the right one."""
    sims = images @ texts.t()  # (I, T)
    own = text_to_image[None, :] == torch.arange(len(images))[:, None]  # (I, T): text t belongs to image i
    # image -> text: the best rank over the image's own texts
    best_own = sims.masked_fill(~own, float('-inf')).max(dim=1).values
    i2t_rank = (sims > best_own[:, None]).sum(dim=1)
    # text -> image
    right = sims[text_to_image, torch.arange(len(texts))]
    t2i_rank = (sims > right[None, :]).sum(dim=0)
    metrics = {f'i2t_R@{k}': (i2t_rank < k).float().mean().item() * 100 for k in topk}
    metrics.update({f't2i_R@{k}': (t2i_rank < k).float().mean().item() * 100 for k in topk})
    metrics['mean_recall'] = sum(metrics.values()) / len(metrics)
    return metrics


@METRICS.register_module()
class ImageTextRetrieval(BaseMetric):
    """Retrieval over the whole evaluation set from the samples' ``image_embeds`` and ``text_embeds`` (one row
    per caption). Samples with the same ``image_id`` are one image (a dataset may list an image once per caption)."""
    default_prefix = 'retrieval'

    def __init__(self, topk: Sequence[int] = (1, 5, 10), collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'text_embeds' not in sample or 'image_embeds' not in sample:
                raise KeyError('ImageTextRetrieval needs image_embeds and text_embeds: tokenise the captions in the '
                               'test pipeline (TokenizeCaption(all_captions=True), PackInputs(algorithm_keys='
                               "['text_ids', 'image_id']))")
            self.results.append((sample.get('image_id', sample.get('img_path')), sample['image_embeds'].cpu(),
                                 sample['text_embeds'].cpu()))

    def compute_metrics(self, results: List) -> dict:
        index: Dict[object, int] = {}
        images, texts, owner = [], [], []
        for n, (image_id, image, text) in enumerate(results):
            key = image_id if image_id is not None else ('sample', n)
            if key not in index:
                index[key] = len(images)
                images.append(image)
            texts.append(text.reshape(-1, text.shape[-1]))
            owner += [index[key]] * texts[-1].shape[0]
        return retrieval_recall(torch.stack(images).float(), torch.cat(texts).float(), torch.tensor(owner),
                                self.topk)

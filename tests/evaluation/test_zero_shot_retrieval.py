"""Retrieval recall and zero-shot accuracy against brute-force definitions."""
import pytest
import torch
import torch.nn.functional as F

from internvl_mm.evaluation.metrics.retrieval import ImageTextRetrieval, retrieval_recall
from internvl_mm.evaluation.metrics.zero_shot import ZeroShotAccuracy


def brute_force(images, texts, owner, k):
    sims = images @ texts.t()
    i2t = []
    for i in range(len(images)):
        order = sims[i].argsort(descending=True)[:k].tolist()
        i2t.append(any(owner[t] == i for t in order))
    t2i = [i in sims[:, t].argsort(descending=True)[:k].tolist() for t, i in enumerate(owner)]
    return sum(i2t) / len(i2t) * 100, sum(t2i) / len(t2i) * 100


def test_recall_matches_brute_force_with_several_captions_per_image():
    g = torch.Generator().manual_seed(0)
    images = F.normalize(torch.randn(20, 16, generator=g), dim=-1)
    owner = [i for i in range(20) for _ in range(1 + i % 5)]  # 1 to 5 captions an image
    texts = F.normalize(images[owner] + 0.9 * torch.randn(len(owner), 16, generator=g), dim=-1)
    metrics = retrieval_recall(images, texts, torch.tensor(owner), topk=(1, 5, 10))
    for k in (1, 5, 10):
        i2t, t2i = brute_force(images, texts, owner, k)
        assert metrics[f'i2t_R@{k}'] == pytest.approx(i2t)
        assert metrics[f't2i_R@{k}'] == pytest.approx(t2i)
    assert 0 < metrics['i2t_R@1'] < 100 and metrics['i2t_R@10'] >= metrics['i2t_R@5'] >= metrics['i2t_R@1']
    assert metrics['mean_recall'] == pytest.approx(sum(v for k, v in metrics.items() if 'R@' in k) / 6)


def test_metric_groups_samples_of_the_same_image():
    g = torch.Generator().manual_seed(1)
    images = F.normalize(torch.randn(4, 8, generator=g), dim=-1)
    texts = F.normalize(images + 0.05 * torch.randn(4, 8, generator=g), dim=-1)
    metric = ImageTextRetrieval(topk=(1, ))
    # image 0 is listed twice, once per caption (flat annotation files do that); the second text is also image 0's
    batch = [dict(image_id='a', image_embeds=images[0], text_embeds=texts[0:1]),
             dict(image_id='a', image_embeds=images[0], text_embeds=texts[1:2]),
             dict(image_id='c', image_embeds=images[2], text_embeds=texts[2:4])]
    metric.process({}, batch)
    result = metric.compute_metrics(metric.results)
    expected = retrieval_recall(images[[0, 2]], texts, torch.tensor([0, 0, 1, 1]), (1, ))
    assert result == pytest.approx(expected)
    with pytest.raises(KeyError, match='TokenizeCaption'):
        metric.process({}, [dict(image_embeds=images[0])])


def test_zero_shot_accuracy():
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.5, 0.3]])
    labels = [0, 1, 1, 1]
    metric = ZeroShotAccuracy(topk=(1, 2, 5))
    metric.process({}, [dict(pred_score=s, gt_label=torch.tensor([l])) for s, l in zip(scores, labels)])
    result = metric.compute_metrics(metric.results)
    assert result['top1'] == pytest.approx(50.0)  # samples 0 and 3
    assert result['top2'] == pytest.approx(100.0)
    assert result['top5'] == pytest.approx(100.0)  # more than the classes: everything
    assert result['mean_per_class_recall'] == pytest.approx((100.0 + 100 / 3) / 2)
    with pytest.raises(KeyError, match='zero_shot'):
        metric.process({}, [dict(gt_label=torch.tensor([0]))])

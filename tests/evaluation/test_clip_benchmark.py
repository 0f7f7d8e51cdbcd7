"""clip_benchmark interoperability: InternVL loads as a clip_benchmark model (model_type='internvl_mm'), and
clip_benchmark's own zero-shot classification and retrieval metrics, run on it, give the numbers tools/test.py
gives for the same checkpoint and data."""
import json
import os.path as osp

import pytest
import torch
from PIL import Image

from internvl_mm.evaluation.clip_benchmark_adapter import (ClipBenchmarkModel, clip_benchmark_templates,
                                                          load_internvl_mm, register)
from tests.evaluation.zero_shot_models import build_checkpoint, run_test
from tests.helpers import DEMO_CONFIGS

STAGE1 = osp.join(DEMO_CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py')

pytest.importorskip('clip_benchmark')


@pytest.fixture(scope='module')
def setup(shapes_caption, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('clip_benchmark')
    tokenizer = osp.join(shapes_caption, 'tokenizer')
    pipeline = [dict(type='LoadImageFromFileOrTar'),
                dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=48, tasks=('itc', ), all_captions=True),
                dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id'])]
    config = str(tmp / 'demo.py')
    with open(config, 'w') as f:
        f.write(f"""_base_ = [{STAGE1!r}]
model = dict(tokenizer={tokenizer!r})
val_dataloader = dict(batch_size=16, dataset=dict(data_root={shapes_caption!r}, pipeline={pipeline!r}))
test_dataloader = val_dataloader
""")
    checkpoint = str(tmp / 'demo.pth')
    model, cfg = build_checkpoint(config, checkpoint)
    metrics, _ = run_test(config, checkpoint, str(tmp / 'work'))
    with open(osp.join(shapes_caption, 'val.jsonl')) as f:
        records = [json.loads(line) for line in f]
    return config, checkpoint, cfg, metrics, records, shapes_caption


class Records(torch.utils.data.Dataset):
    def __init__(self, root, records, transform, captions=False, classes=()):
        self.root, self.records, self.transform, self.captions = root, records, transform, captions
        self.classes = list(classes)  # clip_benchmark reads dataset.classes

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        r = self.records[i]
        image = self.transform(Image.open(osp.join(self.root, r['image'])))
        return image, ([r['caption']] if self.captions else r['label'])


@pytest.mark.slow  # the fixture runs tools/test.py
def test_loads_through_clip_benchmarks_loader(setup):
    import clip_benchmark.models as cb_models
    config, checkpoint, *_ = setup
    register()
    register()  # idempotent
    assert cb_models.MODEL_TYPES.count('internvl_mm') == 1
    model, transform, tokenizer = cb_models.load_clip('internvl_mm', config, checkpoint, None, 'cpu')
    assert isinstance(model, ClipBenchmarkModel) and 'PackInputs' not in transform.steps
    ids = tokenizer(['one shape: a large red circle at the top'])
    assert ids.shape == (1, 48) and ids[0, 0] == 1
    with torch.no_grad():
        assert model.encode_text(ids).shape == (1, 128)


@pytest.mark.slow
def test_clip_benchmark_metrics_on_the_model_equal_ours(setup):
    from clip_benchmark.datasets.builder import image_captions_collate_fn
    from clip_benchmark.metrics import zeroshot_classification, zeroshot_retrieval
    config, checkpoint, cfg, ours, records, root = setup
    model, transform, tokenizer = load_internvl_mm(config, checkpoint)
    loader = torch.utils.data.DataLoader(Records(root, records, transform, classes=cfg.class_names), batch_size=16)
    theirs = zeroshot_classification.evaluate(model, loader, tokenizer, list(cfg.class_names),
                                              clip_benchmark_templates(cfg.templates), 'cpu', amp=False)
    assert theirs['acc1'] * 100 == pytest.approx(ours['zero-shot/top1'], abs=1e-3)
    assert theirs['acc5'] * 100 == pytest.approx(ours['zero-shot/top5'], abs=1e-3)
    assert theirs['mean_per_class_recall'] * 100 == pytest.approx(ours['zero-shot/mean_per_class_recall'],
                                                                  abs=1e-3)
    loader = torch.utils.data.DataLoader(Records(root, records, transform, captions=True), batch_size=16,
                                         collate_fn=image_captions_collate_fn)
    recall = zeroshot_retrieval.evaluate(model, loader, tokenizer, 'cpu', amp=False, recall_k_list=[1, 5, 10])
    for k in (1, 5, 10):  # clip_benchmark's text retrieval is our image->text, its image retrieval our text->image
        assert recall[f'text_retrieval_recall@{k}'] * 100 == pytest.approx(ours[f'retrieval/i2t_R@{k}'], abs=1e-3)
        assert recall[f'image_retrieval_recall@{k}'] * 100 == pytest.approx(ours[f'retrieval/t2i_R@{k}'], abs=1e-3)
    assert 0 < ours['retrieval/i2t_R@10'] < 100  # neither trivial nor impossible: the comparison can fail

"""internvl_mm.apis's image <-> text retrieval inferencers (mmpretrain's, for InternVL-C/G) on the shapes demo's
InternVL-C and InternVL-G configs with small random checkpoints: the retrieved items and their scores equal a hand
computation from the embeddings the model's own ``predict`` gives through the config's full test pipeline
(TokenizeCaption included), and the real 14B retrieval configs give the inferencers their image pipeline."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from internvl_mm.apis import ImageToTextRetrievalInferencer, TextToImageRetrievalInferencer
from internvl_mm.apis.retrieval import image_pipeline_config
from internvl_mm.errors import ConfigError
from internvl_mm.registry import DATASETS, MODELS
from tests.helpers import CONFIGS_ROOT, DEMO_CONFIGS

DEMO = {mode: osp.join(DEMO_CONFIGS, 'pretraining', f'internvl-{mode}_internvit-demo_shapes-caption.py')
        for mode in ('c', 'g')}
GALLERY = 6


def demo_config(mode: str, root: str) -> Config:
    cfg = Config.fromfile(DEMO[mode])
    cfg.merge_from_dict({'model.tokenizer': osp.join(root, 'tokenizer'), 'model.init_cfg': None,
                         'test_dataloader.dataset.data_root': root})
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'TokenizeCaption':
            step['tokenizer'] = osp.join(root, 'tokenizer')
    return cfg


@pytest.fixture(scope='module', params=['c', 'g'])
def setup(request, shapes_caption, tmp_path_factory):
    """A random InternVL-C / -G checkpoint of the demo config, and the embeddings its predict() gives for the first
    images of the held-out split and their first captions."""
    cfg = demo_config(request.param, shapes_caption)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    checkpoint = str(tmp_path_factory.mktemp('retrieval') / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(GALLERY)]
    with torch.no_grad():
        samples = model.test_step(dict(inputs=[dataset[i]['inputs'] for i in range(GALLERY)],
                                       data_samples=[dataset[i]['data_samples'] for i in range(GALLERY)]))
    images = torch.stack([s.image_embeds for s in samples])
    texts = torch.stack([s.text_embeds[0] for s in samples])  # the first caption of each image
    return dict(cfg=cfg, checkpoint=checkpoint, paths=[i['img_path'] for i in infos],
                captions=[i['captions'][0] for i in infos], similarity=images @ texts.t())


def test_image_to_text_retrieval_matches_the_models_embeddings(setup):
    inferencer = ImageToTextRetrievalInferencer(setup['cfg'], prototype=setup['captions'],
                                                pretrained=setup['checkpoint'], device='cpu')
    results = inferencer(setup['paths'], topk=2, batch_size=4)
    assert len(results) == GALLERY
    for row, matches in zip(setup['similarity'], results):
        expected = row.topk(2)
        assert [m['text'] for m in matches] == [setup['captions'][int(i)] for i in expected.indices]
        assert torch.allclose(torch.stack([m['match_score'] for m in matches]), expected.values, atol=1e-5)


def test_text_to_image_retrieval_matches_the_models_embeddings(setup, tmp_path):
    cache = str(tmp_path / 'gallery.pth')
    inferencer = TextToImageRetrievalInferencer(setup['cfg'], prototype=setup['paths'], prototype_cache=cache,
                                                pretrained=setup['checkpoint'], device='cpu')
    assert osp.isfile(cache)
    results = inferencer(setup['captions'], topk=1)
    expected = setup['similarity'].t().argmax(dim=1)
    assert [r[0]['sample']['img_path'] for r in results] == [setup['paths'][int(i)] for i in expected]
    assert [r[0]['sample_idx'] for r in results] == expected.tolist()
    # the cached gallery is read back, not recomputed
    again = TextToImageRetrievalInferencer(setup['cfg'], prototype=setup['paths'], prototype_cache=cache,
                                           pretrained=setup['checkpoint'], device='cpu')
    assert torch.equal(again.prototype['image_embeds'], inferencer.prototype['image_embeds'])


def test_the_real_retrieval_configs_give_an_image_pipeline():
    for name in ('retrieval_internvl-c-14b_coco.py', 'retrieval_internvl-g-14b_flickr30k.py'):
        cfg = Config.fromfile(osp.join(CONFIGS_ROOT, 'pretraining', name), import_custom_modules=False)
        steps = image_pipeline_config(cfg.test_dataloader.dataset.pipeline)
        kinds = [s['type'] for s in steps]
        assert not {'LoadImageFromFileOrTar', 'LoadImageFromFile', 'TokenizeCaption'} & set(kinds), kinds
        assert kinds[-1] == 'PackInputs' and steps[-1]['algorithm_keys'] == []


def test_a_model_without_a_text_tower_is_refused_in_one_line(tmp_path):
    cfg = Config.fromfile(osp.join(DEMO_CONFIGS, 'classification', 'linear-probe_internvit-tiny_shapes-cls.py'))
    cfg.model.backbone.init_cfg = None
    with pytest.raises(ConfigError, match='need an InternVL model'):
        ImageToTextRetrievalInferencer(cfg, prototype=['a text'], pretrained=False, device='cpu')

"""Multilingual retrieval and zero-shot through tools/test.py on small generated data: the Flickr30K-CN config
(clip_benchmark's caption list, caption normalisation) and the XTD config (its multilingual COCO JSON), with a
byte-fallback tokenizer; recall checked against a hand computation on the same embeddings. Plus the file formats
and the multilingual ImageNet configs (clip_benchmark's class names, read, not translated)."""
import json
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest
import torch

from internvl_mm.datasets.caption_files import RetrievalCaptionFile
from internvl_mm.datasets.captions import normalise_caption
from tests.evaluation.zero_shot_models import (LOADER, SMALL_MODEL, build_checkpoint, normalise_pixels,
                                               recall_by_hand, run_test, write_config,
                                               write_multilingual_tokenizer)
from tests.helpers import CONFIGS_ROOT

PRE = osp.join(CONFIGS_ROOT, 'pretraining')
# 6 images, 2-3 Chinese captions each; ASCII punctuation and upper case that the official normalisation changes
CAPTIONS = [['一只红色的圆形在左边。', 'A Red Circle: 在左边!'], ['一个蓝色的方块在中间', '蓝色方块 (中间)', '方块，蓝色'],
            ['两个绿色的三角形在右上角'], ['一条狗在草地上奔跑', '狗 ~ 草地'], ['赤い丸が左にあります', '红色圆形; 左'],
            ['빨간 원이 왼쪽에 있다', 'красный круг слева "кошка"']]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('flickr_cn'))
    os.makedirs(osp.join(root, 'Images'))
    rng = np.random.default_rng(0)
    with open(osp.join(root, 'flickr30k_cn_test.txt'), 'w', encoding='utf-8') as f:
        f.write('image,caption\n')
        for i, captions in enumerate(CAPTIONS):
            img = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
            mmcv.imwrite(img, osp.join(root, 'Images', f'{1000 + i}.jpg'))
            f.writelines(f'{1000 + i}.jpg,{c}\n' for c in captions)
    with open(osp.join(root, 'multilingual_mscoco_captions-zh.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(image_paths=[f'Images/{1000 + i}.jpg' for i in range(len(CAPTIONS))],
                       annotations=[c[0] for c in CAPTIONS], indicies=list(range(len(CAPTIONS)))), f,
                  ensure_ascii=False)
    tokenizer = write_multilingual_tokenizer(osp.join(root, 'tokenizer'))
    return root, tokenizer


def by_hand(model, cfg, root, tokenizer, captions, normalise):
    """Embeddings of the images and captions, read and normalised independently of the pipeline."""
    from internvl_mm.models.language import InternVLTokenizer
    tok = InternVLTokenizer(tokenizer, 48)
    images, texts, owner = [], [], []
    with torch.no_grad():
        for i, caps in enumerate(captions):
            bgr = mmcv.imread(osp.join(root, 'Images', f'{1000 + i}.jpg'))  # 48x48: the 48x48 resize keeps it
            rgb = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1)[None]
            images.append(model.encode_image(normalise_pixels(rgb, cfg))[0])
            for c in caps:
                if normalise:  # clip_benchmark's pre_caption, written out again
                    c = re.sub(r'\s{2,}', ' ', re.sub(r'([.!"()*#:;~])', ' ', c.lower())).strip()
                ids, _ = tok.encode([c], prefix='summarize:')
                texts.append(model.encode_text(ids)[0])
                owner.append(i)
    return torch.stack(images), torch.stack(texts), owner


def small_retrieval_config(tmp_path, base, root, tokenizer, normalise, extra=''):
    """The real config with the small model and a 48 px resize; the pipeline's steps are the config's own."""
    from mmengine.config import Config
    steps = [step['type'] for step in Config.fromfile(osp.join(PRE, base)).test_dataloader.dataset.pipeline]
    expected = ['LoadImageFromFileOrTar', 'Resize'] + ['NormaliseCaptions'] * normalise + ['TokenizeCaption',
                                                                                           'PackInputs']
    assert steps == expected
    pipeline = [dict(type='LoadImageFromFileOrTar'), dict(type='Resize', scale=(48, 48), interpolation='bicubic')]
    pipeline += [dict(type='NormaliseCaptions', max_words=50)] * normalise
    pipeline += [dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=48, tasks=('itc', ), all_captions=True),
                 dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id'])]
    body = SMALL_MODEL.format(tokenizer=tokenizer, vocab_size=400) + f"""
test_dataloader = dict({LOADER}, dataset=dict(data_root={root!r}, data_prefix=dict(img_path={extra!r}),
                                               pipeline={pipeline!r}))
"""
    return write_config(str(tmp_path), osp.join(PRE, base), body)


@pytest.mark.slow
@pytest.mark.parametrize('base, prefix, normalise, captions', [
    ('retrieval_internvl-c-14b_flickr30k-cn.py', 'Images', True, CAPTIONS),
    ('retrieval_internvl-c-14b_xtd-en.py', '', False, [c[:1] for c in CAPTIONS]),
])
def test_multilingual_retrieval_through_test_py_matches_a_hand_computation(data, tmp_path, base, prefix, normalise,
                                                                          captions):
    root, tokenizer = data
    config = small_retrieval_config(tmp_path, base, root, tokenizer, normalise, prefix)
    if 'xtd' in base:  # the Chinese XTD file of the generated set
        with open(config, 'a') as f:
            f.write("test_dataloader['dataset']['ann_file'] = 'multilingual_mscoco_captions-zh.json'\n")
    model, cfg = build_checkpoint(config, str(tmp_path / 'small.pth'))
    metrics, predictions = run_test(config, str(tmp_path / 'small.pth'), str(tmp_path / 'work'))
    images, texts, owner = by_hand(model, cfg, root, tokenizer, captions, normalise)
    dumped = torch.stack([torch.as_tensor(p['image_embeds']) for p in predictions])
    torch.testing.assert_close(dumped, images, atol=2e-5, rtol=1e-4)
    dumped_texts = torch.cat([torch.as_tensor(p['text_embeds']) for p in predictions])
    torch.testing.assert_close(dumped_texts, texts, atol=2e-5, rtol=1e-4)  # the normalised captions' embeddings
    expected = recall_by_hand(images, texts, owner)
    for key, value in expected.items():
        assert metrics[f'retrieval/{key}'] == pytest.approx(value, abs=1e-3), key


def test_official_annotation_formats(tmp_path):
    coco = dict(images=[dict(id=7, file_name='val2014/a.jpg'), dict(id=3, file_name='train2014/b.jpg'),
                        dict(id=9, file_name='val2014/unlabelled.jpg')],
                annotations=[dict(image_id=3, caption='两只猫'), dict(image_id=7, caption='一只狗'),
                             dict(image_id=7, caption='狗在跑')])
    path = tmp_path / 'coco-cn_test.json'
    path.write_text(json.dumps(coco, ensure_ascii=False), encoding='utf-8')
    ds = RetrievalCaptionFile(ann_file=str(path), data_prefix=dict(img_path='/data/coco'), lazy_init=False)
    assert [(d['image_id'], d['captions']) for d in ds] == [('val2014/a.jpg', ['一只狗', '狗在跑']),
                                                           ('train2014/b.jpg', ['两只猫'])]
    assert ds.get_data_info(0)['img_path'] == '/data/coco/val2014/a.jpg'
    flickr = tmp_path / 'list.txt'
    flickr.write_text('image,caption\n1.jpg,a, b, and c\n1.jpg,second\n2.jpg,third\n', encoding='utf-8')
    ds = RetrievalCaptionFile(ann_file=str(flickr))
    assert [d['captions'] for d in ds] == [['a, b, and c', 'second'], ['third']]  # commas kept
    bad = tmp_path / 'bad.txt'
    bad.write_text('image,caption\nno image here\n', encoding='utf-8')
    with pytest.raises(ValueError, match='IMAGE.jpg,CAPTION'):
        RetrievalCaptionFile(ann_file=str(bad))
    with pytest.raises(ValueError, match='ann_format'):
        RetrievalCaptionFile(ann_file=str(flickr), ann_format='tsv')
    # the official normalisation: ASCII punctuation and case only, at most 50 words
    assert normalise_caption('A Red Circle: 在左边!') == 'a red circle 在左边'
    assert normalise_caption('一只红色的圆形在左边。') == '一只红色的圆形在左边。'
    assert normalise_caption(' '.join(['w'] * 60)) == ' '.join(['w'] * 50)


def test_multilingual_imagenet_configs_read_clip_benchmarks_class_names():
    from mmengine.config import Config

    from internvl_mm.models.pretrainers.prompts import resolve_class_names, resolve_templates
    expected_first = {'zh': '丁鲷', 'jp': 'テンチ', 'it': 'una tinca'}
    for key, lang in (('zh', 'cn'), ('jp', 'jp'), ('ar', 'ar'), ('it', 'it')):
        cfg = Config.fromfile(osp.join(PRE, f'zero-shot_internvl-c-14b_in1k-{key}.py'))
        names = resolve_class_names(cfg.model.zero_shot.class_names)
        templates = resolve_templates(cfg.model.zero_shot.templates)
        assert len(names) == 1000 and all(t.count('{}') == 1 for t in templates)
        if key in expected_first:
            assert names[0] == expected_first[key]
    with pytest.raises(ValueError, match='no classnames'):
        resolve_class_names('clip_benchmark:xx')

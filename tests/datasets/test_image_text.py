"""Image-text data: JSONL / JSON / WebDataset sources, image loading, tokenisation, the shapes captions."""
import hashlib
import io
import json
import os
import os.path as osp
import tarfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from internvl_mm.datasets.image_text import ImageTextDataset, expand_shards
from internvl_mm.datasets.transforms import LoadImageFromFileOrTar, TokenizeCaption
from internvl_mm.models.language import InternVLTokenizer
from projects.shapes_demo.shapes.formats import CAPTION_CLASSES, CAPTION_TEMPLATES, write_caption_tokenizer
from tests.helpers import DEMO_CONFIGS


def records(folder, split='val'):
    with open(osp.join(folder, f'{split}.jsonl')) as f:
        return [json.loads(line) for line in f]


def test_shapes_captions_describe_the_scene(shapes_caption):
    val = records(shapes_caption)
    assert len({r['caption'] for r in val}) == len(val)  # unique held-out captions: one right answer each
    for r in val + records(shapes_caption, 'train'):
        count, first = r['caption'].split(': ')[0], r['caption'].split(': ')[1].split(', ')[0]
        assert count in ('one shape', 'two shapes', 'three shapes')
        assert len(r['caption'].split(', ')) == {'one shape': 1, 'two shapes': 2, 'three shapes': 3}[count]
        # the label is the large shape's colour and kind, described first
        assert first.startswith(f'a large {CAPTION_CLASSES[r["label"]]} at the ')
    with open(osp.join(shapes_caption, 'classnames.txt')) as f:
        assert f.read().split('\n')[:-1] == list(CAPTION_CLASSES)


def test_demo_config_lists_the_shapes_classes_and_templates():
    cfg = Config.fromfile(osp.join(DEMO_CONFIGS, 'pretraining', 'internvl-c_internvit-demo_shapes-caption.py'))
    assert cfg.model.zero_shot.class_names == list(CAPTION_CLASSES)
    assert cfg.model.zero_shot.templates == list(CAPTION_TEMPLATES)
    assert cfg.val_dataloader.dataset.metainfo.classes == list(CAPTION_CLASSES)


def test_tokenizer_is_a_release_style_llama_tokenizer(shapes_caption, tmp_path):
    folder = osp.join(shapes_caption, 'tokenizer')
    assert sorted(os.listdir(folder)) == ['special_tokens_map.json', 'tokenizer.model', 'tokenizer_config.json']
    write_caption_tokenizer(str(tmp_path / 'again'), [r['caption'] for r in records(shapes_caption, 'train')])
    digest = [hashlib.md5(open(osp.join(f, 'tokenizer.model'), 'rb').read()).hexdigest()
              for f in (folder, str(tmp_path / 'again'))]
    assert digest[0] == digest[1]  # deterministic
    tok = InternVLTokenizer(folder, max_length=12)
    ids, mask = tok.encode(['one shape: a large red circle at the top left', 'two'], prefix='summarize:')
    assert ids.shape == (2, 12)
    assert ids[0, 0] == 1 and ids[0, -1] == 2  # <s> ... </s>, truncated with the EOS kept
    assert ids[1, 0] == 1 and ids[1, mask[1].sum() - 1] == 2 and (ids[1, mask[1].sum():] == 0).all()  # right pad 0
    assert tok.tokenizer.unk_token_id == 0
    ids, mask, labels = tok.encode_for_generation(['one shape'], prefix='English caption:')
    prefix_len = len(tok.tokenizer('English caption:')['input_ids']) - 1
    assert (labels[0, :prefix_len] == -100).all() and (labels[0, prefix_len:mask[0].sum()] >= 0).all()
    assert labels[0, mask[0].sum() - 1] == 2 and (labels[0, mask[0].sum():] == -100).all()
    with pytest.raises(FileNotFoundError, match='tokenizer.model'):
        InternVLTokenizer(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        TokenizeCaption(str(tmp_path / 'missing'))


def test_jsonl_dataset_with_tokenised_captions(shapes_caption):
    init_default_scope('mmpretrain')
    tokenizer = osp.join(shapes_caption, 'tokenizer')
    pipeline = [dict(type='LoadImageFromFileOrTar'),
                dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=48, tasks=('itc', 'itm', 'itg')),
                dict(type='PackInputs', algorithm_keys=['text_ids', 'itm_ids', 'itg_ids', 'itg_labels', 'image_id'])]
    dataset = ImageTextDataset(ann_file='val.jsonl', data_root=shapes_caption, pipeline=pipeline)
    assert len(dataset) == len(records(shapes_caption))
    item = dataset[0]
    assert item['inputs'].shape == (3, 48, 48) and item['inputs'].dtype == torch.uint8
    sample = item['data_samples']
    assert sample.text_ids.shape == (1, 48) and sample.itm_ids.shape == (48, ) and sample.itg_labels.shape == (48, )
    assert sample.gt_label.item() == records(shapes_caption)[0]['label']
    assert sample.image_id == records(shapes_caption)[0]['image']
    tok = InternVLTokenizer(tokenizer, 48)
    caption = records(shapes_caption)[0]['caption']
    assert torch.equal(sample.text_ids[0], tok.encode([caption], prefix='summarize:')[0][0])
    assert torch.equal(sample.itm_ids, tok.encode([caption])[0][0])


def test_json_list_with_several_captions(tmp_path, shapes_caption):
    recs = records(shapes_caption)[:3]
    ann = [dict(image=r['image'], caption=[r['caption'], 'another caption']) for r in recs]
    (tmp_path / 'test.json').write_text(json.dumps(ann))
    pipeline = [dict(type='TokenizeCaption', tokenizer=osp.join(shapes_caption, 'tokenizer'), max_length=48,
                     all_captions=True)]
    dataset = ImageTextDataset(ann_file=str(tmp_path / 'test.json'), data_prefix=dict(img_path=shapes_caption),
                               pipeline=pipeline)
    item = dataset[1]
    assert item['captions'] == [recs[1]['caption'], 'another caption'] and item['text_ids'].shape == (2, 48)
    assert item['img_path'] == osp.join(shapes_caption, recs[1]['image'])
    (tmp_path / 'bad.jsonl').write_text(json.dumps(dict(img='x.png', caption='c')) + '\n')
    with pytest.raises(ValueError, match='image_key'):
        ImageTextDataset(ann_file=str(tmp_path / 'bad.jsonl'))


def write_shards(folder, shapes_caption, recs, per_shard=3):
    os.makedirs(folder, exist_ok=True)
    for s in range(0, len(recs), per_shard):
        with tarfile.open(osp.join(folder, f'part-{s // per_shard:03d}.tar'), 'w') as tar:
            for i, r in enumerate(recs[s:s + per_shard]):
                key = f'sample{s + i:05d}'
                members = {f'{key}.png': open(osp.join(shapes_caption, r['image']), 'rb').read(),
                           f'{key}.cls': str(r['label']).encode()}
                if i % 2:
                    members[f'{key}.txt'] = r['caption'].encode()
                else:
                    members[f'{key}.json'] = json.dumps(dict(caption=r['caption'])).encode()
                for name, data in members.items():
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo('lonely.txt')  # a caption without an image is skipped
            info.size = 1
            tar.addfile(info, io.BytesIO(b'x'))


def test_webdataset_shards(tmp_path, shapes_caption):
    recs = records(shapes_caption)[:7]
    write_shards(str(tmp_path / 'shards'), shapes_caption, recs)
    assert len(expand_shards('part-{000..002}.tar', str(tmp_path / 'shards'))) == 3
    for spec in ('part-{000..002}.tar', 'part-*.tar', ['part-000.tar', 'part-001.tar', 'part-002.tar']):
        dataset = ImageTextDataset(ann_file=spec, data_root=str(tmp_path / 'shards'),
                                   pipeline=[dict(type='LoadImageFromFileOrTar')])
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert [d['captions'] for d in infos] == [[r['caption']] for r in recs]
        assert [d['gt_label'] for d in infos] == [r['label'] for r in recs]
    from_tar = dataset[4]['img']
    from_file = LoadImageFromFileOrTar()(dict(img_path=osp.join(shapes_caption, recs[4]['image'])))['img']
    np.testing.assert_array_equal(from_tar, from_file)
    with pytest.raises(FileNotFoundError, match='no tar shard'):
        ImageTextDataset(ann_file='none-*.tar', data_root=str(tmp_path))

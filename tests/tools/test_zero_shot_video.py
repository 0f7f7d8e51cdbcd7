"""Zero-shot video classification through tools/test.py: clips of moving shapes written with PyAV, read by the
Kinetics config (official CSV layout, frames sampled uniformly, frame embeddings averaged), and the metric
checked against a hand computation on the same embeddings."""
import csv
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from internvl_mm.datasets.video import (PackVideoInputs, SampleVideoFrames, VideoClassificationDataset,
                                        uniform_frame_indices)
from internvl_mm.errors import InputError, MissingFileError
from tests.evaluation.zero_shot_models import (LOADER, SMALL_MODEL, accuracies_by_hand, build_checkpoint,
                                               classifier_by_hand, normalise_pixels, run_test, write_config)
from tests.helpers import CONFIGS_ROOT

K400 = osp.join(CONFIGS_ROOT, 'pretraining', 'zero-shot_internvl-c-14b_k400.py')
# one class per shape and direction of motion; names the shapes tokenizer knows
CLASSES = {'red circle': ((220, 40, 40), 'circle', (1, 0)), 'blue square': ((40, 60, 220), 'square', (0, 1)),
           'green triangle': ((40, 200, 60), 'triangle', (-1, 0)), 'yellow cross': ((230, 220, 40), 'cross', (0, -1)),
           'red square': ((220, 40, 40), 'square', (1, 1)), 'blue circle': ((40, 60, 220), 'circle', (-1, 1))}
SIZE = 48


def draw(shape, colour, cx, cy, r=7):
    img = np.full((SIZE, SIZE, 3), 30, np.uint8)
    y, x = np.mgrid[:SIZE, :SIZE]
    if shape == 'circle':
        mask = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    elif shape == 'square':
        mask = (abs(x - cx) <= r) & (abs(y - cy) <= r)
    elif shape == 'triangle':
        mask = (y - cy <= r) & (y - cy >= -r) & (abs(x - cx) <= (y - cy + r) / 2)
    else:
        mask = ((abs(x - cx) <= r) & (abs(y - cy) <= 2)) | ((abs(y - cy) <= r) & (abs(x - cx) <= 2))
    img[mask] = colour
    return img


def write_clip(path, name, num_frames, seed):
    """A clip of a shape moving across the frame, mpeg4 in .mp4, written with PyAV."""
    import av
    colour, shape, (dx, dy) = CLASSES[name]
    rng = np.random.default_rng(seed)
    x0, y0 = rng.integers(16, 32, size=2)
    with av.open(path, 'w') as container:
        stream = container.add_stream('mpeg4', rate=8)
        stream.width = stream.height = SIZE
        stream.pix_fmt = 'yuv420p'
        for t in range(num_frames):
            frame = av.VideoFrame.from_ndarray(draw(shape, colour, x0 + 2 * dx * t - num_frames * dx,
                                                    y0 + 2 * dy * t - num_frames * dy), format='rgb24')
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


@pytest.fixture(scope='module')
def kinetics(tmp_path_factory):
    """A Kinetics-layout folder: annotations/val.csv (one listed clip missing, as in every download), val/*.mp4,
    classnames.txt in label order (the sorted label names)."""
    root = str(tmp_path_factory.mktemp('kinetics'))
    os.makedirs(osp.join(root, 'val'))
    os.makedirs(osp.join(root, 'annotations'))
    rows, n = [], 0
    for name in CLASSES:
        for _ in range(2):
            vid = f'clip{n:03d}'
            write_clip(osp.join(root, 'val', f'{vid}_000000_000010.mp4'), name, 9 + 3 * (n % 3), seed=n)
            rows.append(dict(label=name, youtube_id=vid, time_start=0, time_end=10, split='val'))
            n += 1
    rows.append(dict(label='red circle', youtube_id='gone', time_start=3, time_end=13, split='val'))
    with open(osp.join(root, 'annotations', 'val.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=['label', 'youtube_id', 'time_start', 'time_end', 'split'])
        writer.writeheader()
        writer.writerows(rows)
    with open(osp.join(root, 'classnames.txt'), 'w') as f:
        f.write('\n'.join(sorted(CLASSES)) + '\n')
    return root


def decode_all(path):
    import av
    with av.open(path) as container:
        return [frame.to_ndarray(format='rgb24') for frame in container.decode(video=0)]


def test_uniform_sampling_and_the_dataset(kinetics):
    assert uniform_frame_indices(10, 1) == [5]  # one frame: the centre one
    assert uniform_frame_indices(16, 8) == [1, 3, 5, 7, 9, 11, 13, 15]  # the middle of each segment
    assert uniform_frame_indices(3, 4) == [0, 1, 1, 2]  # a short clip repeats frames
    with pytest.raises(ValueError, match='num_frames'):
        SampleVideoFrames(num_frames=0)
    ds = VideoClassificationDataset(ann_file=osp.join(kinetics, 'annotations', 'val.csv'),
                                    data_prefix=dict(video_path=osp.join(kinetics, 'val')), skip_missing=True)
    assert len(ds) == 12 and ds.metainfo['num_missing'] == 1
    assert list(ds.metainfo['classes']) == sorted(CLASSES)
    with pytest.raises(MissingFileError, match='skip_missing'):
        VideoClassificationDataset(ann_file=osp.join(kinetics, 'annotations', 'val.csv'),
                                   data_prefix=dict(video_path=osp.join(kinetics, 'val')))
    info = ds.get_data_info(0)
    out = SampleVideoFrames(num_frames=4).transform(dict(info))
    frames = decode_all(info['video_path'])
    expected = [frames[i] for i in uniform_frame_indices(len(frames), 4)]
    assert out['total_frames'] == len(frames) and all(np.array_equal(a, b) for a, b in zip(out['imgs'], expected))
    packed = PackVideoInputs().transform(out)
    assert packed['inputs'].shape == (4, 3, SIZE, SIZE) and packed['data_samples'].gt_label.item() == info['gt_label']
    bad = osp.join(kinetics, 'broken.mp4')
    with open(bad, 'wb') as f:
        f.write(b'not a video')
    with pytest.raises(InputError, match='not a readable video'):
        SampleVideoFrames().transform(dict(video_path=bad))


@pytest.mark.slow
def test_kinetics_config_through_test_py_matches_a_hand_computation(kinetics, shapes_caption, tmp_path):
    tokenizer = osp.join(shapes_caption, 'tokenizer')
    templates = ['one shape: a large {}', 'a {}']  # the shapes tokenizer's words ('kinetics' prompts: see below)
    body = SMALL_MODEL.format(tokenizer=tokenizer, vocab_size=128) + f"""
model.update(zero_shot=dict(class_names={osp.join(kinetics, 'classnames.txt')!r}, templates={templates!r}))
test_dataloader = dict({LOADER}, dataset=dict(data_root={kinetics!r}, pipeline=[
    dict(type='SampleVideoFrames', num_frames=4),
    dict(type='FrameTransforms', transforms=[dict(type='CenterCrop', crop_size={SIZE})]),
    dict(type='PackVideoInputs'),
]))
"""
    config = write_config(str(tmp_path), K400, body)
    model, cfg = build_checkpoint(config, str(tmp_path / 'small.pth'))
    assert cfg.test_evaluator.top1_top5_mean and cfg.model.data_preprocessor.to_rgb is False
    metrics, predictions = run_test(config, str(tmp_path / 'small.pth'), str(tmp_path / 'work'))

    # by hand: decode every clip with PyAV, take the uniform frames, embed each frame, average
    classes = sorted(CLASSES)
    with open(osp.join(kinetics, 'annotations', 'val.csv')) as f:
        rows = [r for r in csv.DictReader(f) if r['youtube_id'] != 'gone']
    videos, labels = [], []
    with torch.no_grad():
        for r in rows:
            frames = decode_all(osp.join(kinetics, 'val', f"{r['youtube_id']}_000000_000010.mp4"))
            picked = torch.from_numpy(np.stack([frames[i] for i in uniform_frame_indices(len(frames), 4)]))
            pixels = normalise_pixels(picked.permute(0, 3, 1, 2), cfg)
            videos.append(F.normalize(model.encode_image(pixels).mean(0), dim=-1))
            labels.append(classes.index(r['label']))
        videos = torch.stack(videos)
        weights = classifier_by_hand(model, tokenizer, classes, templates)
    dumped = torch.stack([torch.as_tensor(p['image_embeds']) for p in predictions])
    torch.testing.assert_close(dumped, videos, atol=2e-5, rtol=1e-4)  # the same embeddings
    expected = accuracies_by_hand(videos @ weights.t(), labels)
    expected['top1_top5_mean'] = (expected['top1'] + expected['top5']) / 2
    for key, value in expected.items():
        assert metrics[f'zero-shot/{key}'] == pytest.approx(value, abs=1e-3), key
    assert 0 < metrics['zero-shot/top5'] < 100 or metrics['zero-shot/top1'] < 100  # 6 classes: not trivial

    # the same clips as a single centre frame (the paper's #F=1 rows) give the centre-frame embeddings
    one_frame = write_config(str(tmp_path), osp.join(CONFIGS_ROOT, 'pretraining',
                                                     'zero-shot_internvl-c-14b_k400_1frame.py'),
                             body.replace("num_frames=4", "num_frames=1"))
    _, single = run_test(one_frame, str(tmp_path / 'small.pth'), str(tmp_path / 'work1'))
    r = rows[0]
    frames = decode_all(osp.join(kinetics, 'val', f"{r['youtube_id']}_000000_000010.mp4"))
    centre = torch.from_numpy(frames[len(frames) // 2])[None].permute(0, 3, 1, 2)
    with torch.no_grad():
        expected_centre = model.encode_image(normalise_pixels(centre, cfg))[0]
    torch.testing.assert_close(torch.as_tensor(single[0]['image_embeds']), expected_centre, atol=2e-5, rtol=1e-4)


def test_kinetics_configs_inherit_and_use_clips_prompts():
    from mmengine.config import Config

    from internvl_mm.models.pretrainers.prompts import KINETICS_TEMPLATES, resolve_templates
    for n in (400, 600, 700):
        for suffix, frames in (('', 8), ('_1frame', 1)):
            cfg = Config.fromfile(osp.join(CONFIGS_ROOT, 'pretraining', f'zero-shot_internvl-c-14b_k{n}{suffix}.py'))
            dataset = cfg.test_dataloader.dataset
            assert dataset.data_root == f'data/kinetics{n}' and dataset.pipeline[0].num_frames == frames
            assert cfg.model.zero_shot.class_names == f'data/kinetics{n}/classnames.txt'
            assert cfg.model.data_preprocessor.to_rgb is False
    assert resolve_templates('kinetics') == list(KINETICS_TEMPLATES) and len(KINETICS_TEMPLATES) == 28
    assert 'a video of a person practicing {}.' in KINETICS_TEMPLATES

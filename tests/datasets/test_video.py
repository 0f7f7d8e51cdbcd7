"""The video dataset's mmaction-style list format and its errors, and InternVL's clip embedding (the averaged,
renormalised frame embeddings)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from internvl_mm.datasets.video import VideoClassificationDataset
from internvl_mm.errors import MissingFileError
from internvl_mm.models.pretrainers import InternVL


def test_list_format_labels_classes_and_errors(tmp_path):
    for name in ('a.mp4', 'b.mp4'):
        (tmp_path / name).write_bytes(b'')  # the dataset lists files; decoding is the pipeline's job
    listing = tmp_path / 'val.txt'
    listing.write_text('a.mp4 1\nb.mp4 0\n\n')
    ds = VideoClassificationDataset(ann_file=str(listing), data_prefix=dict(video_path=str(tmp_path)),
                                    classes=['x', 'y'])
    assert [(osp.basename(d['video_path']), d['gt_label']) for d in ds] == [('a.mp4', 1), ('b.mp4', 0)]
    assert ds.metainfo['classes'] == ('x', 'y') and ds.metainfo['num_missing'] == 0
    with pytest.raises(ValueError, match='outside the 1 classes'):
        VideoClassificationDataset(ann_file=str(listing), data_prefix=dict(video_path=str(tmp_path)), classes=['x'])
    (tmp_path / 'bad.txt').write_text('a.mp4 walking\n')
    with pytest.raises(ValueError, match='PATH LABEL'):
        VideoClassificationDataset(ann_file=str(tmp_path / 'bad.txt'), data_prefix=dict(video_path=str(tmp_path)))
    with pytest.raises(MissingFileError, match='does not exist'):
        VideoClassificationDataset(ann_file=str(tmp_path / 'none.csv'))


def test_encode_video_averages_normalised_frame_embeddings():
    model = InternVL(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), num_query_token=0, embed_dim=32,
                     attn_pool_num_heads=4)
    model.init_weights()
    model.eval()
    clips = torch.randn(2, 3, 3, 56, 56)
    with torch.no_grad():
        video = model.encode_video(clips)
        frames = model.encode_image(clips.flatten(0, 1)).view(2, 3, -1)
        assert torch.allclose(video, F.normalize(frames.mean(1), dim=-1), atol=1e-6)
        assert torch.allclose(model(clips, mode='tensor'), video)  # 5-D inputs are clips
    with pytest.raises(ValueError, match=r'\(B, T, C, H, W\)'):
        model.encode_video(torch.randn(2, 3, 56, 56))

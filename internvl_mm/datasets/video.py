"""Videos for zero-shot classification (Kinetics-400 / 600 / 700), decoded with PyAV.

The InternVL paper evaluates InternVL-C on Kinetics by embedding sampled frames as images and averaging the frame
embeddings (1 frame: the centre one; 8 frames: uniformly sampled). Here:

- :class:`VideoClassificationDataset` lists the clips and labels: an mmaction-style list (``path label`` a line,
  label an index) or the official Kinetics CSV (``label,youtube_id,time_start,time_end,split``; the clip file is
  ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4``, as the common download scripts name it; classes are the
  sorted label names, the usual Kinetics class order).
- :class:`SampleVideoFrames` picks ``num_frames`` indices uniformly: the clip is cut into ``num_frames`` equal
  segments and the middle frame of each is taken (TSN's test-time sampling; one frame = the centre frame), and
  decodes those frames with PyAV (``av``), as RGB arrays.
- :class:`FrameTransforms` runs ordinary image transforms (``ResizeEdge``, ``CenterCrop``, ...) on every frame.
- :class:`PackVideoInputs` stacks the frames as one ``(T, 3, H, W)`` input with a ``DataSample`` (``gt_label``);
  ``InternVL.predict`` embeds a 5-D batch frame by frame and averages the normalised frame embeddings.

Frames are RGB already: the video configs set the data preprocessor's ``to_rgb=False`` (its channel flip would
act on the frame axis of a 3-frame clip).
"""
import csv
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmengine.dataset import BaseDataset

from internvl_mm.errors import InputError, MissingFileError
from internvl_mm.registry import DATASETS, TRANSFORMS

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov')


def uniform_frame_indices(num_total: int, num_frames: int) -> List[int]:
    """The middle frame of each of ``num_frames`` equal segments of a ``num_total``-frame clip (the centre frame
    for one); a clip shorter than ``num_frames`` repeats frames."""
    if num_total < 1:
        raise ValueError('a video without frames has nothing to sample')
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    return [min(int((i + 0.5) * num_total / num_frames), num_total - 1) for i in range(num_frames)]


def count_frames(path: str) -> int:
    """Frames of the first video stream: the container's count when it has one, else by decoding."""
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for _ in container.decode(stream))


def read_frames(path: str, indices: Sequence[int]) -> List[np.ndarray]:
    """The frames at ``indices`` (in decoding order, repeats allowed) as (H, W, 3) uint8 RGB arrays."""
    import av
    wanted = sorted(set(indices))
    found = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        for n, frame in enumerate(container.decode(stream)):
            if n in wanted:
                found[n] = frame.to_ndarray(format='rgb24')
                if len(found) == len(wanted):
                    break
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InputError(f'{path}: frames {missing[:5]} could not be decoded (the container announced more frames '
                         f'than it holds); re-encode the clip')
    return [found[i] for i in indices]


@TRANSFORMS.register_module()
class SampleVideoFrames(BaseTransform):
    """Decode ``num_frames`` uniformly sampled frames of ``video_path`` (see the module doc) into ``imgs``."""

    def __init__(self, num_frames: int = 8):
        uniform_frame_indices(1, num_frames)  # validates num_frames
        self.num_frames = num_frames

    def transform(self, results: dict) -> dict:
        path = results['video_path']
        try:
            total = count_frames(path)
        except (OSError, IndexError, ValueError) as error:  # av.error.* derive from OSError / ValueError
            raise InputError(f'{path} is not a readable video ({type(error).__name__}: {error}); check the file, '
                             f'or drop it from the annotation list') from error
        indices = uniform_frame_indices(total, self.num_frames)
        results.update(imgs=read_frames(path, indices), frame_inds=np.array(indices), total_frames=total)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_frames={self.num_frames})'


@TRANSFORMS.register_module()
class FrameTransforms(BaseTransform):
    """Apply image transforms (``transforms``: a list of transform configs) to every frame in ``imgs``."""

    def __init__(self, transforms: List[dict]):
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in transforms])

    def transform(self, results: dict) -> dict:
        frames = []
        for frame in results['imgs']:
            out = self.pipeline(dict(img=frame, img_shape=frame.shape[:2], ori_shape=frame.shape[:2]))
            frames.append(out['img'])
        if len({f.shape for f in frames}) != 1:
            raise InputError(f'{results.get("video_path")}: the frame transforms gave frames of different shapes '
                             f'{sorted({f.shape for f in frames})}; end them with a fixed-size crop')
        results['imgs'] = frames
        results['img_shape'] = frames[0].shape[:2]
        return results


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """``inputs`` = the frames as a (T, 3, H, W) uint8 tensor; ``data_samples`` = a DataSample with ``gt_label``
    and the meta keys."""

    def __init__(self, meta_keys: Sequence[str] = ('video_path', 'frame_inds', 'total_frames', 'img_shape')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        from mmpretrain.structures import DataSample
        frames = np.stack(results['imgs'])  # (T, H, W, 3)
        inputs = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        sample = DataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)


def _read_classes(spec: Union[str, Sequence[str], None]) -> Optional[List[str]]:
    if spec is None or not isinstance(spec, str):
        return None if spec is None else list(spec)
    if not osp.isfile(spec):
        raise MissingFileError(f'class list {spec} does not exist (one class name a line, in label order)')
    with open(spec) as f:
        return [line.strip() for line in f if line.strip()]


@DATASETS.register_module()
class VideoClassificationDataset(BaseDataset):
    """Labelled video clips (see the module doc for the two annotation formats).

    Args:
        ann_file: the list (``.txt``: ``PATH LABEL`` a line) or the Kinetics CSV (``.csv``).
        data_prefix: ``dict(video_path=FOLDER)``, the folder the clip paths are relative to.
        classes: class names in label order (a list or a file, one a line). For a CSV, default: the sorted label
            names of the CSV; for a list, optional (``dataset_meta['classes']``).
        skip_missing: leave out (and count in ``dataset_meta['num_missing']``) clips that are not on disk —
            Kinetics downloads always miss some videos — instead of failing.
    """

    def __init__(self, ann_file: str, data_prefix: dict = dict(video_path=''),
                 classes: Union[str, Sequence[str], None] = None, skip_missing: bool = False, **kwargs):
        self._classes, self.skip_missing = _read_classes(classes), skip_missing
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _records(self):
        if self.ann_file.endswith('.csv'):
            with open(self.ann_file, newline='') as f:
                rows = list(csv.DictReader(f))
            need = {'label', 'youtube_id', 'time_start', 'time_end'}
            if rows and not need <= set(rows[0]):
                raise ValueError(f'{self.ann_file}: a Kinetics CSV needs the columns {sorted(need)}, has '
                                 f'{sorted(rows[0])}')
            classes = self._classes or sorted({r['label'] for r in rows})
            index = {name: i for i, name in enumerate(classes)}
            unknown = sorted({r['label'] for r in rows} - set(index))
            if unknown:
                raise ValueError(f'{self.ann_file}: labels {unknown[:3]} are not in the class list')
            for r in rows:
                name = f"{r['youtube_id']}_{int(float(r['time_start'])):06d}_{int(float(r['time_end'])):06d}.mp4"
                yield name, index[r['label']]
            self._classes = classes
            return
        with open(self.ann_file) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.rsplit(None, 1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                    raise ValueError(f'{self.ann_file} line {n}: expected "PATH LABEL" (label an integer), got '
                                     f'{line.strip()!r}')
                yield parts[0], int(parts[1])

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise MissingFileError(f'video annotation file {self.ann_file} does not exist')
        prefix = self.data_prefix.get('video_path', '')
        data, missing = [], 0
        for path, label in self._records():
            full = osp.join(prefix, path)
            if not osp.isfile(full):
                if self.skip_missing:
                    missing += 1
                    continue
                raise MissingFileError(f'video {full} (listed in {self.ann_file}) does not exist; download it, or '
                                       f'set skip_missing=True to evaluate the clips that are there')
            data.append(dict(video_path=full, gt_label=label))
        if not data:
            raise MissingFileError(f'none of the videos of {self.ann_file} is under {prefix!r}')
        if self._classes is not None:
            bad = [d['gt_label'] for d in data if not 0 <= d['gt_label'] < len(self._classes)]
            if bad:
                raise ValueError(f'{self.ann_file}: labels {bad[:3]} are outside the {len(self._classes)} classes')
            self._metainfo['classes'] = tuple(self._classes)
        self._metainfo['num_missing'] = missing
        return data

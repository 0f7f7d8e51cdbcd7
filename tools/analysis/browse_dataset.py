"""Draw a config's dataset samples as the pipeline gives them to the model, with their annotations, as the
toolboxes' browse_dataset.py do (theirs are not installed with the packages).

    python tools/analysis/browse_dataset.py CONFIG [--phase train|val|test] [--output-dir D] [--show]
        [--max-items 20] [--cfg-options k=v ...]

The config's own visualizer draws each sample: mmpretrain's ``UniversalVisualizer`` (class labels; for the
image-text sets of InternVL, the first caption), mmseg's ``SegLocalVisualizer`` (masks) and mmdet's
``DetLocalVisualizer`` (boxes and instance masks), all with ``draw_gt``. The image drawn is the pipeline's output
(after resizing, cropping, flipping), before the data preprocessor normalises it.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError  # noqa: E402
from tools.cli import check_data_roots, load_config, one_line_errors  # noqa: E402


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description="Draw a config's dataset samples with their annotations")
    parser.add_argument('config', help='config file')
    parser.add_argument('--phase', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader\'s dataset and pipeline (default %(default)s)')
    parser.add_argument('--output-dir', help='write one image per sample here')
    parser.add_argument('--show', action='store_true', help='show each sample in a window')
    parser.add_argument('--show-interval', type=float, default=2, help='seconds per sample with --show')
    parser.add_argument('--max-items', type=int, default=20, help='samples to draw (default %(default)s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. train_dataloader.dataset.data_root=PATH')
    return parser.parse_args()


def to_rgb_image(inputs):
    """The packed (C, H, W) image in the loader's BGR order -> an (H, W, 3) RGB uint8 array."""
    image = inputs.permute(1, 2, 0).numpy() if hasattr(inputs, 'permute') else inputs
    return image[..., ::-1].astype('uint8').copy()


def draw(visualizer, scope: str, name: str, image, sample, info: dict, classes, out_file, show, wait):
    if scope == 'mmpretrain':
        if 'gt_label' in sample:
            return visualizer.visualize_cls(image, sample, classes=classes, draw_gt=True, draw_pred=False,
                                            draw_score=False, show=show, wait_time=wait, name=name,
                                            out_file=out_file)
        captions = info.get('captions')
        if captions:
            sample.set_field(captions[0], 'pred_caption', field_type='metainfo')
            return visualizer.visualize_image_caption(image, sample, show=show, wait_time=wait, name=name,
                                                      out_file=out_file)
        raise ConfigError('the samples carry neither a class label nor captions; nothing to draw')
    if scope == 'mmdet':  # the visualizer draws plain tensors and arrays: boxes and bitmap masks as mmdet packs them
        from mmdet.structures.bbox import BaseBoxes
        from mmdet.structures.mask import BitmapMasks, PolygonMasks
        instances = sample.gt_instances
        if isinstance(instances.get('bboxes'), BaseBoxes):
            instances.bboxes = instances.bboxes.tensor
        if isinstance(instances.get('masks'), (BitmapMasks, PolygonMasks)):
            instances.masks = instances.masks.to_ndarray().astype(bool)
    visualizer.add_datasample(name, image, sample, draw_gt=True, draw_pred=False, show=show, wait_time=wait,
                              out_file=out_file)


def main():
    args = parse_args()
    with one_line_errors('browse_dataset'):
        if not (args.output_dir or args.show):
            raise ConfigError('nothing to do: give --output-dir D and/or --show')
        cfg = load_config(args.config, args.cfg_options)
        loader = f'{args.phase}_dataloader'
        if not cfg.get(loader):
            raise ConfigError(f'the config has no {loader}; choose another --phase')
        check_data_roots(cfg, [loader])
        from mmengine.registry import DATASETS, VISUALIZERS, init_default_scope
        scope = cfg.get('default_scope', 'mmengine')
        init_default_scope(scope)
        dataset = DATASETS.build(cfg[loader].dataset)
        visualizer = VISUALIZERS.build(dict(cfg.visualizer, name='browse_dataset', vis_backends=None,
                                            save_dir=None))
        visualizer.dataset_meta = dataset.metainfo
        classes = dataset.metainfo.get('classes')
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
        count = min(args.max_items, len(dataset))
        for i in range(count):
            item = dataset[i]
            info = dataset.get_data_info(i)
            stem = osp.splitext(osp.basename(str(info.get('img_path', i))))[0]
            name = f'{i:04d}_{stem}'
            out_file = osp.join(args.output_dir, name + '.png') if args.output_dir else None
            draw(visualizer, scope, name, to_rgb_image(item['inputs']), item['data_samples'], info, classes,
                 out_file, args.show, args.show_interval)
        where = f' into {args.output_dir}' if args.output_dir else ''
        print(f'drew {count} of {len(dataset)} {args.phase} samples{where}')


if __name__ == '__main__':
    main()

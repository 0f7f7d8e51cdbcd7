"""The toolboxes' own inference APIs on internvl_mm configs and every checkpoint form.

mmseg's ``init_model`` / ``inference_model`` / ``MMSegInferencer``, mmdet's ``init_detector`` /
``inference_detector`` / ``DetInferencer`` and mmpretrain's ``ImageClassificationInferencer`` / ``FeatureExtractor``
load a checkpoint through mmengine's ``CheckpointLoader`` and build ``cfg.model`` alone. Their predictions must equal
the model's own ``test_step`` after ``tools/test.py``'s strict load of the same checkpoint. Checkpoint forms: an
mmengine checkpoint from ``tools/train.py`` (message hub and all), a consolidated file, the Hugging Face release
folder ``tools/export_release.py`` writes (InternViT only: the backbone), and a ``zoo://`` name.
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

import internvl_mm.weights as weights
from internvl_mm.engine.checkpoints import load_checkpoint_strict, save_consolidated
from internvl_mm.registry import MODELS
from tests.helpers import DEMO_CONFIGS, FAST_LOADERS, ROOT, run_tool

SEG_CONFIG = osp.join(DEMO_CONFIGS, 'segmentation', 'upernet-full_internvit-demo_shapes-seg.py')
DET_CONFIG = osp.join(DEMO_CONFIGS, 'detection', 'mask-rcnn_internvit-demo_shapes-det.py')
CLS_CONFIG = osp.join(DEMO_CONFIGS, 'classification', 'full-ft_internvit-demo_shapes-cls.py')
NO_INIT = {'model.backbone.init_cfg': None}  # the demo configs start from the classification demo's checkpoint


def test_demo_test_pipelines_load_with_load_image_from_file():
    """The inferencers find the loading step of a test pipeline by its type name (mmseg's and mmdet's raise
    "LoadImageFromFile is not found in the test pipeline" otherwise): the size check is a separate step."""
    for path in (SEG_CONFIG, DET_CONFIG, CLS_CONFIG):
        steps = [t['type'] for t in Config.fromfile(path, import_custom_modules=False).test_dataloader.dataset.pipeline]
        assert steps[:2] == ['LoadImageFromFile', 'CheckImageSize'], (path, steps)


def first_image(root: str, *folders: str) -> str:
    return sorted(path for ext in ('png', 'jpg')
                  for path in glob.glob(osp.join(root, *folders, '**', f'*.{ext}'), recursive=True))[0]


def config(path: str) -> Config:
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(NO_INIT)
    return cfg


def saved_config(cfg: Config, tmp_path) -> str:
    """The config as a file, as users pass it (``init_model('cfg.py', ...)``)."""
    path = str(tmp_path / 'config.py')
    cfg.dump(path)
    return path


def build(cfg: Config) -> torch.nn.Module:
    """The config's model as the Runner builds it (a top-level data_preprocessor, mmpretrain's habit, included)."""
    init_default_scope(cfg.default_scope)
    model_cfg = cfg.model.copy()
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return MODELS.build(model_cfg)


def random_checkpoint(cfg: Config, path: str) -> torch.nn.Module:
    """Build the config's model, initialise it with non-trivial weights and save them as mmengine does."""
    model = build(cfg)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.eval()


def reference_test_step(cfg: Config, checkpoint: str, image: str, pipeline=None):
    """What tools/test.py predicts for ``image``: its strict load, the test pipeline, the model's test_step."""
    model = build(cfg).eval()
    load_checkpoint_strict(model, checkpoint)
    steps = pipeline if pipeline is not None else cfg.test_dataloader.dataset.pipeline
    data = Compose([t for t in steps if t['type'] != 'LoadAnnotations'])(dict(img_path=image, img_id=0))
    with torch.no_grad():
        return model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))[0]


def same_weights(module: torch.nn.Module, reference: torch.nn.Module) -> bool:
    mine = module.state_dict()
    return all(torch.equal(mine[k], v) for k, v in reference.state_dict().items())


@pytest.fixture(scope='module')
def seg_run(tmp_path_factory, shapes_seg):
    """A segmentation checkpoint from tools/train.py (2 iterations), its consolidated file and release folder."""
    work = tmp_path_factory.mktemp('seg')
    data = [f'{loader}.dataset.data_root={shapes_seg}' for loader in ('train_dataloader', 'val_dataloader',
                                                                        'test_dataloader')]
    run_tool('train.py', SEG_CONFIG, '--work-dir', str(work), '--cfg-options', 'model.backbone.init_cfg=None', *data,
             'train_cfg.max_iters=2', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
             'train_dataloader.batch_size=2', *FAST_LOADERS)
    trained = str(work / 'iter_2.pth')
    consolidated = str(work / 'consolidated.pth')
    save_consolidated(trained, consolidated)
    release = str(work / 'release')
    run_tool('export_release.py', SEG_CONFIG, trained, release)
    return dict(trained=trained, consolidated=consolidated, release=release,
                image=first_image(shapes_seg, 'images', 'validation'))


@pytest.mark.parametrize('form', ['trained', 'consolidated'])
def test_mmseg_init_model_and_inference_model_match_test_step(seg_run, form, tmp_path):
    from mmseg.apis import inference_model, init_model
    cfg = config(SEG_CONFIG)
    expected = reference_test_step(cfg, seg_run[form], seg_run['image']).pred_sem_seg.data
    model = init_model(saved_config(cfg, tmp_path), seg_run[form], device='cpu')
    assert torch.equal(inference_model(model, seg_run['image']).pred_sem_seg.data, expected)


def test_mmseg_inferencer_matches_test_step(seg_run):
    from mmseg.apis import MMSegInferencer
    cfg = config(SEG_CONFIG)
    expected = reference_test_step(cfg, seg_run['trained'], seg_run['image']).pred_sem_seg.data
    inferencer = MMSegInferencer(model=cfg, weights=seg_run['trained'], device='cpu')
    result = inferencer(seg_run['image'], return_datasamples=True)
    assert torch.equal(result.pred_sem_seg.data, expected)


def test_mmseg_init_model_reads_a_release_folder_and_a_zoo_name(seg_run, tmp_path, monkeypatch):
    """The release folder holds the InternViT only: the segmentor gets exactly that backbone."""
    from mmseg.apis import init_model
    cfg = config(SEG_CONFIG)
    trained = build(cfg)
    load_checkpoint_strict(trained, seg_run['trained'])
    model = init_model(saved_config(cfg, tmp_path), seg_run['release'], device='cpu')
    assert same_weights(model.backbone, trained.backbone)
    # zoo://: a catalog name whose snapshot is this release folder (the download itself is tests/zoo's business)
    monkeypatch.setitem(weights._SCHEMES, 'zoo://', lambda uri: seg_run['release'])
    model = init_model(saved_config(cfg, tmp_path), 'zoo://internvit-6b-224px', device='cpu')
    assert same_weights(model.backbone, trained.backbone)


def test_apis_without_importing_internvl_mm_first(seg_run, tmp_path):
    """A fresh process that imports only the toolbox: the config's custom_imports bring internvl_mm in."""
    cfg = config(SEG_CONFIG)
    expected = reference_test_step(cfg, seg_run['trained'], seg_run['image']).pred_sem_seg.data
    script = ('import sys, torch\n'
              'from mmseg.apis import init_model, inference_model\n'
              'model = init_model(sys.argv[1], sys.argv[2], device="cpu")\n'
              'torch.save(inference_model(model, sys.argv[3]).pred_sem_seg.data, sys.argv[4])\n')
    out = str(tmp_path / 'pred.pt')
    env = dict(os.environ, PYTHONPATH=ROOT)  # the configs' custom_imports name projects.shapes_demo
    result = subprocess.run([sys.executable, '-c', script, saved_config(cfg, tmp_path), seg_run['trained'],
                             seg_run['image'], out], capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
                            env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert torch.equal(torch.load(out), expected)


def det_case(tmp_path, shapes_det):
    cfg = config(DET_CONFIG)
    checkpoint = str(tmp_path / 'det.pth')
    random_checkpoint(cfg, checkpoint)
    image = first_image(shapes_det, 'val')
    expected = reference_test_step(cfg, checkpoint, image).pred_instances
    assert len(expected.scores) > 0
    return cfg, checkpoint, image, expected


def test_mmdet_init_detector_and_inference_detector_match_test_step(tmp_path, shapes_det):
    from mmdet.apis import inference_detector, init_detector
    cfg, checkpoint, image, expected = det_case(tmp_path, shapes_det)
    model = init_detector(saved_config(cfg, tmp_path), checkpoint, device='cpu')
    got = inference_detector(model, image).pred_instances
    assert torch.allclose(got.bboxes, expected.bboxes) and torch.allclose(got.scores, expected.scores)


def test_mmdet_inferencer_matches_test_step(tmp_path, shapes_det):
    from mmdet.apis import DetInferencer
    cfg, checkpoint, image, expected = det_case(tmp_path, shapes_det)
    result = DetInferencer(model=cfg, weights=checkpoint, device='cpu')(image, return_datasamples=True)
    got = result['predictions'][0].pred_instances
    assert torch.allclose(got.bboxes, expected.bboxes) and torch.equal(got.labels, expected.labels)


def test_mmpretrain_inferencer_and_feature_extractor_match_test_step(tmp_path, shapes_cls):
    from mmpretrain import FeatureExtractor, ImageClassificationInferencer
    cfg = config(CLS_CONFIG)
    checkpoint = str(tmp_path / 'cls.pth')
    model = random_checkpoint(cfg, checkpoint)
    image = first_image(shapes_cls, 'val')
    expected = reference_test_step(cfg, checkpoint, image)
    inferencer = ImageClassificationInferencer(model=saved_config(cfg, tmp_path), pretrained=checkpoint,
                                               device='cpu')
    result = inferencer(image)[0]
    assert result['pred_label'] == int(expected.pred_label)
    assert torch.allclose(torch.as_tensor(result['pred_scores']), expected.pred_score, atol=1e-6)
    features = FeatureExtractor(model=cfg, pretrained=checkpoint, device='cpu')(image)[0]
    data = Compose(cfg.test_dataloader.dataset.pipeline)(dict(img_path=image))
    with torch.no_grad():
        own = model.extract_feat(model.data_preprocessor(dict(inputs=[data['inputs']]), False)['inputs'])
    assert torch.allclose(torch.as_tensor(features[0]), own[0][0], atol=1e-6)


def test_a_folder_that_is_no_release_is_refused_by_name(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from internvl_mm.errors import CheckpointError
    with pytest.raises(CheckpointError, match='directory without'):
        CheckpointLoader.load_checkpoint(str(tmp_path))

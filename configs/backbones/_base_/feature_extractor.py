# What `mim download internvl_mm --config <release>` dumps beside a release: the InternViT of that release as an
# mmpretrain feature extractor (an ImageClassifier without neck or head), so that the dumped config and the
# downloaded release folder work with mmpretrain's init_model / FeatureExtractor / get_model and with
# internvl_mm.create_model. Its test pipeline (and data preprocessor) is the ImageNet probes' at 224 px; each
# configs/backbones/<release>.py sets the arch and `zoo://` name (448 px releases through feature_extractor_448.py).
_base_ = ['../../_base_/tasks/classification.py', '../../_base_/datasets/imagenet_probe_224.py',
          './feature_extractor_model.py']
model = dict(backbone=dict(img_size=224))

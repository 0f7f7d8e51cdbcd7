# Zero-shot ImageNet-Sketch with InternVL-C (paper: 73.9 top-1): the 1000-way ImageNet classifier (80 OpenAI templates,
# curated CLIP names), restricted to the classes the set holds (SubsetAccuracy), as clip_benchmark scores it.
#   python tools/test.py configs/pretraining/zero-shot_internvl-c-14b_in1k-sketch.py data/InternVL-14B-224px
_base_ = './zero-shot_internvl-c-14b_in1k.py'
test_dataloader = dict(dataset=dict(_delete_=True, type='ImageNetVariantFolder', data_root='data/imagenet-sketch',
                                    folder_labels='synset', pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(_delete_=True, type='SubsetAccuracy', topk=(1, 5))

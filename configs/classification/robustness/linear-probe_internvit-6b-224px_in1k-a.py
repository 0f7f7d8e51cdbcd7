# Evaluates the InternViT-6B-224px linear probe on ImageNet-A (200 classes): tools/test.py THIS_CONFIG PROBE_CHECKPOINT
_base_ = '../linear-probe_internvit-6b-224px_8xb128_in1k.py'
test_dataloader = dict(dataset=dict(_delete_=True, type='ImageNetVariantFolder', data_root='data/imagenet-a',
                                    folder_labels='synset', pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(_delete_=True, type='SubsetAccuracy', topk=(1, 5))

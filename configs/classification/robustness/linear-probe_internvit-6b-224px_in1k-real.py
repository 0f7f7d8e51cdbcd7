# Evaluates the InternViT-6B-224px linear probe on ImageNet-ReaL: the ImageNet val images, ReaL labels.
_base_ = '../linear-probe_internvit-6b-224px_8xb128_in1k.py'
test_dataloader = dict(dataset=dict(type='ImageNetReaL'))
test_evaluator = dict(_delete_=True, type='ReaLAccuracy')

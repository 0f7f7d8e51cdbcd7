# Zero-shot ObjectNet with InternVL-C (paper: 80.6 top-1): the 113 classes that overlap ImageNet-1K, named as
# clip_benchmark names them (the ObjectNet names in lower case), scored with the 80 OpenAI templates.
#   python tools/test.py configs/pretraining/zero-shot_internvl-c-14b_objectnet.py data/InternVL-14B-224px
# Layout: objectnet-1.0.zip unpacked into data/objectnet. Class names: data/objectnet/classnames.txt, in label order:
#   python -c "from internvl_mm.datasets.objectnet import objectnet_classes as c; \
#              print(*c('data/objectnet'), sep='\n')" > data/objectnet/classnames.txt
_base_ = './zero-shot_internvl-c-14b_in1k.py'
model = dict(zero_shot=dict(class_names='data/objectnet/classnames.txt', templates='openai_imagenet'))
test_dataloader = dict(dataset=dict(_delete_=True, type='ObjectNetFolder', data_root='data/objectnet',
                                    pipeline={{_base_.test_pipeline}}))

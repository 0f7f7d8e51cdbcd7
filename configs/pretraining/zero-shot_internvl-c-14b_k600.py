# Zero-shot Kinetics-600 with InternVL-C, 8 frames a clip (numbers: metafile.yml). Same layout as Kinetics-400 under
# data/kinetics600 (annotations/val.csv, val/*.mp4, classnames.txt).
_base_ = './zero-shot_internvl-c-14b_k400.py'
model = dict(zero_shot=dict(class_names='data/kinetics600/classnames.txt'))
test_dataloader = dict(dataset=dict(data_root='data/kinetics600'))

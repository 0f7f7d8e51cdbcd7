# Zero-shot Kinetics-400 with InternVL-C, 8 frames a clip (paper / InternVL README: 79.4, the mean of top-1 and
# top-5 accuracy; metafile.yml):
#   python tools/test.py configs/pretraining/zero-shot_internvl-c-14b_k400.py data/InternVL-14B-224px
# Class names: data/kinetics400/classnames.txt, one a line in label order (the sorted `label` column of the CSV,
# e.g. python -c "import csv; print(*sorted({r['label'] for r in csv.DictReader(open('val.csv'))}), sep='\n')").
# Prompts: CLIP's 28 Kinetics templates ('a video of a person {}.', ...), averaged per class.
_base_ = [
    '../_base_/models/internvl_c_14b.py',
    '../_base_/datasets/video_kinetics400_zeroshot.py',
    '../_base_/tasks/pretraining.py',
]
model = dict(
    zero_shot=dict(class_names='data/kinetics400/classnames.txt', templates='kinetics'),
    # the frames are RGB already; the preprocessor's channel flip would act on the frame axis of a 3-frame clip
    data_preprocessor=dict(to_rgb=False),
)

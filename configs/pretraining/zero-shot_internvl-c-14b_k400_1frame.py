# Zero-shot Kinetics-400 with InternVL-C from the centre frame of each clip (the paper's #F=1 rows; metafile.yml).
_base_ = './zero-shot_internvl-c-14b_k400.py'
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleVideoFrames', num_frames=1),
    dict(type='FrameTransforms', transforms={{_base_.frame_transforms}}),
    dict(type='PackVideoInputs'),
]))

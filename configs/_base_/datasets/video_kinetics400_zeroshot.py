# Kinetics-400 validation (19,881 clips listed; downloads miss some, skip_missing=True evaluates those present and
# counts the others in dataset_meta['num_missing']) for zero-shot classification, the InternVL paper's protocol:
# num_frames frames sampled uniformly (the middle frame of each of num_frames equal segments; one frame = the centre
# frame), each preprocessed as an ImageNet zero-shot image (bicubic short side to 224 with Pillow, i.e. antialiased
# as torchvision's transform on PIL images, centre crop), embedded as an
# image; the normalised frame embeddings are averaged (InternVL.encode_video). Frames are decoded with PyAV as RGB.
# Layout: data/kinetics400/annotations/val.csv (the official CSV: label,youtube_id,time_start,time_end,split) and
# data/kinetics400/val/{youtube_id}_{start:06d}_{end:06d}.mp4; classes = the sorted label names of the CSV.
data_root = 'data/kinetics400'
num_frames = 8
frame_transforms = [
    dict(type='ResizeEdge', scale=224, edge='short', interpolation='bicubic', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
]
test_pipeline = [
    dict(type='SampleVideoFrames', num_frames=num_frames),
    dict(type='FrameTransforms', transforms=frame_transforms),
    dict(type='PackVideoInputs'),
]
test_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoClassificationDataset', data_root=data_root, ann_file='annotations/val.csv',
                 data_prefix=dict(video_path='val'), skip_missing=True, pipeline=test_pipeline),
)
test_evaluator = dict(type='ZeroShotAccuracy', topk=(1, 5), top1_top5_mean=True)
test_cfg = dict()

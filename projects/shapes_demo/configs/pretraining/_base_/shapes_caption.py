# The embedded shapes caption set (python tools/data/make_shapes.py, or the demo, generates data/shapes/caption):
# 1-3 coloured shapes on a 3x3 grid, captions derived from the scene ("two shapes: a large red circle at the top
# left, a small blue cross at the center"), a label per image (the colour and kind of its large shape) and a
# SentencePiece tokenizer trained on the captions, in a release folder's layout (data_root/tokenizer).
data_root = 'data/shapes/caption'
tokenizer = data_root + '/tokenizer'
max_txt_len = 48
# projects.shapes_demo.shapes.formats.CAPTION_CLASSES / CAPTION_TEMPLATES (the tests check they agree).
class_names = [f'{c} {s}' for c in ('red', 'green', 'blue', 'yellow')
               for s in ('circle', 'square', 'triangle', 'cross')]
templates = [f'one shape: a large {{}} at the {p}' for p in ('top left', 'top', 'top right', 'left', 'center', 'right',
                                                             'bottom left', 'bottom', 'bottom right')]
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                         to_rgb=True)
# No flips or crops: left / right and the grid position are part of the captions.
train_pipeline = [
    dict(type='SeedFromSampleIndex'),  # augmentation follows the sample's place in training: exact resume
    dict(type='LoadImageFromFileOrTar'),
    dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=max_txt_len, tasks=('itc', )),
    dict(type='PackInputs', algorithm_keys=['text_ids']),
]
test_pipeline = [
    dict(type='LoadImageFromFileOrTar'),
    dict(type='TokenizeCaption', tokenizer=tokenizer, max_length=max_txt_len, tasks=('itc', ), all_captions=True),
    dict(type='PackInputs', algorithm_keys=['text_ids', 'image_id']),
]
# Loaders in the main process: a batch of 128 48 px PNGs and their captions loads in ~40 ms (measured), less than
# what worker processes cost by competing with training for 2 cores.
# batch_size is per rank: the demo trains stage 1 on two single-threaded CPU ranks (tools/demo.py, ranks=2), a global
# batch of 128 for ITC, which gathers every rank's texts (0.235 s per iteration against 0.285 in one process with two
# threads, measured; a single process with a batch of 64 reached only R@1 70.0 after 8 epochs).
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='ResumableSampler', shuffle=True),
    dataset=dict(type='ImageTextDataset', data_root=data_root, ann_file='train.jsonl', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageTextDataset', data_root=data_root, ann_file='val.jsonl', metainfo=dict(classes=class_names),
                 pipeline=test_pipeline),
)
val_evaluator = [dict(type='ImageTextRetrieval', topk=(1, 5, 10)), dict(type='ZeroShotAccuracy', topk=(1, 5))]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

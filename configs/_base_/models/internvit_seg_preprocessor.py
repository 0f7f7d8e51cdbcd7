# The segmentors' data preprocessor (ImageNet statistics, batches padded to the 504 x 504 crop), inside `model` as
# mmseg's init_model and MMSegInferencer build cfg.model alone (a top-level data_preprocessor reaches only the Runner).
model = dict(
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(504, 504)))

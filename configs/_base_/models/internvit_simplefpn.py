# InternViT as a ViTDet-style plain detection backbone: 6B-224px weights with the patch kernel resized to 16 px and
# the position embedding to a 64 x 64 grid (1024 px), window attention (14 x 14) in all blocks but four global ones,
# the last block's map into a SimpleFPN (strides 4, 8, 16, 32 and a pooled 64), activation checkpointing on.
internvit_detection_backbone = dict(
    _delete_=True,
    type='InternViT',
    arch='6b-224',
    patch_size=16,
    img_size=1024,
    out_indices=(-1, ),
    out_type='featmap',
    window_size=14,
    global_block_indexes=(11, 23, 35, 47),
    with_cp=True,
    init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px'))
simple_fpn_neck = dict(
    _delete_=True,
    type='ViTFeaturePyramid',
    in_channels=3200,
    scales=(4, 2, 1, 0.5),
    out_channels=256,
    shrink_channels=True,
    extra_pool_levels=1)
ln2d = dict(type='LN2d', requires_grad=True)
# ViTDet's fixed canvas: every training batch is padded to the backbone's 1024 x 1024 (a 64 x 64 patch grid, the
# position embedding's own), whatever the jittered image sizes.
fixed_canvas_preprocessor = dict(batch_augments=[dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)])

# InternVL-14B-224px as InternVL-C: InternViT-6B-224px (48 blocks) + QLLaMA-8B (Chinese-LLaMA-7B + 96 queries with
# cross-attention in every second layer). The release is one checkpoint for C and G, so the full structure is
# built; `mode` picks the image embedding. The tokenizer comes from the release folder.
release = 'data/InternVL-14B-224px'
model = dict(
    type='InternVL',
    backbone=dict(type='InternViT', arch='6b-224', drop_path_rate=0.0),
    qllama=dict(arch='8b'),
    num_query_token=96,
    embed_dim=768,
    attn_pool_num_heads=16,
    mode='InternVL-C',
    losses=('itc', ),
    tokenizer=release,
    max_txt_len=80,
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
)

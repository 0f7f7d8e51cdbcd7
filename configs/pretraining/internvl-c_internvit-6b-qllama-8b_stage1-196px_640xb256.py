# Stage 1 of InternVL (contrastive, InternVL-C) at 196 px: InternViT-6B from scratch (drop path 0.2), the text
# tower started from Chinese-LLaMA-7B (a LLaMA release folder), symmetric InfoNCE over all ranks with a learnable
# temperature clamped at 100. Queries and cross-attention are added in stage 2 (num_query_token=0 here).
_base_ = [
    '../_base_/models/internvl_c_14b.py',
    '../_base_/datasets/image_text_webdataset_196.py',
    '../_base_/schedules/internvl_c_stage1.py',
    '../_base_/tasks/pretraining.py',
]
model = dict(
    backbone=dict(img_size=196, drop_path_rate=0.2),
    qllama=dict(init_cfg=dict(type='Pretrained', checkpoint='data/chinese-llama-7b')),
    num_query_token=0,
)

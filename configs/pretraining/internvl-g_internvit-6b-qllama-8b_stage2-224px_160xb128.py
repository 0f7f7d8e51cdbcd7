# Stage 2 of InternVL (generative, InternVL-G): from the stage-1 checkpoint, add 96 queries with cross-attention
# in every second QLLaMA layer, clip_projector2 and itm_head; InternViT and the LLaMA stay frozen. Loss = ITC
# (clip_projector2 of the queries vs the text) + ITM (hard negatives drawn from the similarity matrix for half the
# batch) + ITG (next-token loss on "English caption: ...").
_base_ = [
    '../_base_/models/internvl_g_14b.py',
    '../_base_/datasets/image_text_webdataset_224.py',
    '../_base_/schedules/internvl_g_stage2.py',
    '../_base_/tasks/pretraining.py',
]
model = dict(
    losses=('itc', 'itm', 'itg'),
    trainable=('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head', 'logit_scale'),
    init_cfg=dict(type='Pretrained',
                  checkpoint='work_dirs/internvl-c_internvit-6b-qllama-8b_stage1-224px_640xb256/iter_3000.pth',
                  allow_missing=('query_tokens', 'qllama.model.layers.*.cross_attn', 'clip_projector2', 'itm_head',
                                 'qllama.lm_head')),
)
train_dataloader = dict(batch_size=128)

# InternVL-14B-224px as InternVL-G: image = normalize(clip_projector(ViT)) + normalize(clip_projector2(queries)).
_base_ = './internvl_c_14b.py'
model = dict(mode='InternVL-G')

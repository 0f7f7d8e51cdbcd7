# LoRA on InternViT (Hugging Face peft): every base weight frozen, rank-16 adapters on the four linears of every
# block. Use it by pointing the backbone at it in a config that has this file among its _base_:
#     model = dict(backbone=dict(adapter=_base_.adapter))
# rank / alpha / dropout / targets / blocks (indices, negative from the end; None = all) are the knobs.
adapter = dict(type='LoRA', rank=16, alpha=16, dropout=0.0, targets=('qkv', 'proj', 'fc1', 'fc2'), blocks=None)

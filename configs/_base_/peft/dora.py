# DoRA (weight-decomposed LoRA, use_dora in peft): LoRA's direction update plus a trained per-channel magnitude.
_base_ = './lora.py'
adapter = dict(type='DoRA')

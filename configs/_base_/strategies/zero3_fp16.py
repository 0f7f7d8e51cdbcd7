# DeepSpeed ZeRO-3 with fp16 compute and dynamic loss scaling (GPUs without bf16).
_base_ = './zero3.py'
strategy = dict(bf16=dict(enabled=False), fp16={{_base_.fp16_dynamic_loss_scale}})

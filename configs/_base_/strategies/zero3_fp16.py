# DeepSpeed ZeRO-3 with fp16 compute and dynamic loss scaling (GPUs without bf16).
_base_ = './zero3.py'
strategy = dict(bf16=dict(enabled=False), fp16=dict(enabled=True, loss_scale=0, initial_scale_power=16,
                                                    loss_scale_window=1000, hysteresis=2, min_loss_scale=1))

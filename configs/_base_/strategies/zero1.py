# DeepSpeed ZeRO-1 (optimizer states sharded across ranks; parameters and gradients replicated), bf16 compute with
# fp32 master weights. The task's optimizer, layer decay, frozen parts, clip_grad and batch size carry over
# (internvl_mm ZeROStrategy). fp32 on CPU ranks: --cfg-options strategy.bf16.enabled=False strategy.inputs_to_half=None
runner_type = 'FlexibleRunner'
strategy = dict(
    type='ZeROStrategy',
    zero_optimization=dict(
        stage=1,
        overlap_comm=True,
        contiguous_gradients=True,
        reduce_bucket_size=5e8,
        allgather_bucket_size=5e8,
    ),
    bf16=dict(enabled=True),
    inputs_to_half=['inputs'],
)
# fp16 with dynamic loss scaling, for GPUs without bf16 (the *_fp16.py includes switch to it).
fp16_dynamic_loss_scale = dict(enabled=True, loss_scale=0, initial_scale_power=16, loss_scale_window=1000,
                               hysteresis=2, min_loss_scale=1)

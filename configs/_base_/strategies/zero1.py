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

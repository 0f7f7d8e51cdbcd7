# DeepSpeed ZeRO-3 (parameters, gradients and optimizer states all sharded), bf16 compute with fp32 master weights. The task's optimizer, layer decay, frozen
# parts, clip_grad and batch size carry over (internvl_mm ZeROStrategy). fp32 on CPU ranks:
# --cfg-options strategy.bf16.enabled=False
runner_type = 'FlexibleRunner'
strategy = dict(
    type='ZeROStrategy',
    zero_optimization=dict(
        stage=3,
        overlap_comm=True,
        contiguous_gradients=True,
        reduce_bucket_size=5e8,
        allgather_bucket_size=5e8,
        stage3_param_persistence_threshold=1e4,
        stage3_gather_16bit_weights_on_model_save=False,
    ),
    bf16=dict(enabled=True),
    inputs_to_half=['inputs'],
)

# PyTorch FSDP (full sharding: parameters, gradients and optimizer states), one unit per transformer block, bf16
# compute with fp32 parameters and reductions. Checkpoints are full state dicts gathered on rank 0, so they resume
# at any world size and load in the plain runner. fp32 on CPU ranks: --cfg-options strategy.model_wrapper=None
runner_type = 'FlexibleRunner'
strategy = dict(
    type='ShardedDataParallelStrategy',
    model_wrapper=dict(mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32', buffer_dtype='float32')),
)

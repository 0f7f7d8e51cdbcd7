# FSDP with fp16 compute (GPUs without bf16): fp16 parameters in the forward/backward, fp32 reductions and master
# parameters, and a dynamic loss scale that is sharding-aware (torch's ShardedGradScaler).
_base_ = './fsdp.py'
strategy = dict(model_wrapper=dict(mixed_precision=dict(param_dtype='float16')))
optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', use_fsdp=True, loss_scale='dynamic')

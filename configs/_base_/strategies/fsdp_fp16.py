# FSDP with fp16 compute (GPUs without bf16): fp16 parameters in the forward/backward, fp32 reductions and master
# parameters, and a dynamic loss scale that is sharding-aware (the strategy turns the task's optim_wrapper into an
# AmpOptimWrapper with torch's ShardedGradScaler, so the task keeps its optimizer settings).
_base_ = './fsdp.py'
strategy = dict(model_wrapper=dict(mixed_precision=dict(param_dtype='float16')), fp16_loss_scale='dynamic')

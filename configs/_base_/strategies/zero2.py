# DeepSpeed ZeRO-2: ZeRO-1 plus gradients sharded; parameters replicated.
_base_ = './zero1.py'
strategy = dict(zero_optimization=dict(stage=2))

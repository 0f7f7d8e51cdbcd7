# DeepSpeed ZeRO-3: parameters, gradients and optimizer states all sharded; each block's weights are gathered when
# it runs. Small parameters (< 10k elements) stay whole on every rank.
_base_ = './zero1.py'
strategy = dict(zero_optimization=dict(stage=3, stage3_param_persistence_threshold=1e4,
                                       stage3_gather_16bit_weights_on_model_save=False))

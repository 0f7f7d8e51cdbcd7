# ZeRO-3 with parameters and optimizer states offloaded to the CPU: the most GPU memory saved, the slowest steps.
_base_ = './zero3.py'
strategy = dict(zero_optimization=dict(offload_optimizer=dict(device='cpu', pin_memory=True),
                                       offload_param=dict(device='cpu', pin_memory=True)))

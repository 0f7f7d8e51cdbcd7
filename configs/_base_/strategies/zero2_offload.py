# ZeRO-2 with the optimizer states (and their update) on the CPU: fits larger models per GPU, slower steps.
_base_ = './zero2.py'
strategy = dict(zero_optimization=dict(offload_optimizer=dict(device='cpu', pin_memory=True)))

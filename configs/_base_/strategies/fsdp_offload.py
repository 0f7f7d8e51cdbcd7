# FSDP with parameters offloaded to the CPU between uses.
_base_ = './fsdp.py'
strategy = dict(model_wrapper=dict(cpu_offload=True))

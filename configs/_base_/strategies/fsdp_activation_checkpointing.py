# FSDP that also owns activation checkpointing (every transformer block); the models' own with_cp is switched off.
_base_ = './fsdp.py'
strategy = dict(activation_checkpointing=dict(check_fn='is_transformer_block'))

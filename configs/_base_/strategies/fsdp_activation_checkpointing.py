# FSDP that also owns activation checkpointing (every block the model declares); the models' own with_cp is
# switched off.
_base_ = './fsdp.py'
strategy = dict(activation_checkpointing=dict(check_fn='checkpointable_blocks'))

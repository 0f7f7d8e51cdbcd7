"""Run by tests/zoo/test_loading.py under torchrun with two CPU ranks: both ranks load ``zoo://`` weights (rank 0
downloads, rank 1 waits and reads the cache), then both try a release the hub does not have and stop."""
import hashlib

import torch
from mmengine.dist import init_dist

import internvl_mm  # noqa: F401
from internvl_mm.models import InternViT
from internvl_mm.zoo import ZooError

init_dist('pytorch', backend='gloo')
rank = torch.distributed.get_rank()
model = InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-6b-224px'))
model.init_weights()
weights = b''.join(t.numpy().tobytes() for t in model.state_dict().values())
print(f'rank={rank} weights={hashlib.sha256(weights).hexdigest()}', flush=True)
try:
    InternViT('tiny', init_cfg=dict(type='Pretrained', checkpoint='zoo://internvit-300m-448px')).init_weights()
except ZooError as error:
    print(f'rank={rank} error={error}', flush=True)
torch.distributed.destroy_process_group()

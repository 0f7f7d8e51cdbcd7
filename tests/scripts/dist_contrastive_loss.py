"""Run by tests/tools/test_pretraining.py under torchrun: one InternVL-C step under DDP on half the global batch per
rank; rank 0 writes the mean of the ranks' ITC losses and the averaged gradients to the file given as argv[1]."""
import sys

import torch
import torch.distributed as dist
from mmengine.dist import init_dist
from torch.nn.parallel import DistributedDataParallel

import internvl_mm  # noqa: F401
from tests.scripts.contrastive_batch import build_model, global_batch

init_dist('pytorch')
rank, world = dist.get_rank(), dist.get_world_size()
model = build_model().train()
images, samples = global_batch()
per_rank = len(images) // world
local = slice(rank * per_rank, (rank + 1) * per_rank)
ddp = DistributedDataParallel(model)
loss = ddp(images[local], samples[local], mode='loss')['loss_itc']
loss.backward()
losses = [torch.zeros(()) for _ in range(world)]
dist.all_gather(losses, loss.detach())
if rank == 0:
    torch.save(dict(loss=torch.stack(losses).mean(), grads={n: p.grad for n, p in model.named_parameters()}),
               sys.argv[1])
dist.destroy_process_group()

"""Run by tests/test_compat.py under torchrun: mmengine's init_dist with its default backend, then an all-reduce."""
import torch
import torch.distributed as dist
from mmengine.dist import init_dist

import internvl_mm  # noqa: F401

init_dist('pytorch')  # mmengine's default backend is nccl
value = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(value)
print(f'rank={dist.get_rank()} backend={dist.get_backend()} sum={value.item()}')
dist.destroy_process_group()

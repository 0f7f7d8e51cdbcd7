"""The model and global batch shared by the single-process and the torchrun side of the all-gather ITC test."""
import torch
from mmpretrain.structures import DataSample

from internvl_mm.models.pretrainers import InternVL


def build_model() -> InternVL:
    torch.manual_seed(0)
    model = InternVL(backbone=dict(arch='tiny'), qllama=dict(arch='tiny'), num_query_token=0, embed_dim=32,
                     attn_pool_num_heads=4)
    model.init_weights()
    return model


def global_batch(size: int = 8):
    g = torch.Generator().manual_seed(1)
    images = torch.randn(size, 3, 56, 56, generator=g)
    ids = torch.randint(3, 256, (size, 12), generator=g)
    ids[:, 0], ids[:, -1] = 1, 2
    samples = []
    for i in range(size):
        sample = DataSample()
        sample.set_field(ids[i:i + 1], 'text_ids')
        samples.append(sample)
    return images, samples

"""The InternVL pretraining losses: image-text contrastive (ITC) over all ranks, and ITM hard-negative sampling.

ITC follows CLIP's symmetric InfoNCE. Each rank scores its own images against the texts of *every* rank (and its
texts against every image): features are all-gathered with :class:`GatherWithGrad`, whose backward sums the
gradients that every rank's loss sends to a shard and hands each rank the part of its own shard. With DDP's
gradient averaging this gives exactly the gradient of the loss over the global batch, and the mean of the ranks'
losses equals the single-process loss on that batch (the tests check both under torchrun).
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F

# CLIP: "the learnable temperature ... clipped to prevent scaling the logits by more than 100". Training clamps
# there (InternVL's stage 1 follows CLIP's recipe); evaluation uses the checkpoint's value as it is, as the official
# forward does (``logit_scale.exp()``, no clamp).
MAX_LOGIT_SCALE = math.log(100.0)
IGNORE_INDEX = -100


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward all-reduces (sums) the incoming gradients and returns this rank's slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        grad = torch.stack(grads)
        dist.all_reduce(grad)
        return grad[dist.get_rank()]


def gather_with_grad(x: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """(features of all ranks concatenated, offset of this rank's rows); identity in a single process."""
    if not distributed():
        return x, 0
    sizes: List[torch.Tensor] = [torch.zeros(1, dtype=torch.long) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([x.shape[0]], dtype=torch.long))
    if len({int(s) for s in sizes}) != 1:
        raise RuntimeError(f'ITC needs the same batch size on every rank, got {[int(s) for s in sizes]}; use a '
                           f'sampler that pads the dataset to a multiple of the world size (DefaultSampler)')
    return torch.cat(GatherWithGrad.apply(x), dim=0), dist.get_rank() * x.shape[0]


def logit_scale_value(logit_scale: torch.Tensor, max_logit_scale: Optional[float] = MAX_LOGIT_SCALE
                      ) -> torch.Tensor:
    """exp(logit_scale), clamped at exp(``max_logit_scale``) (CLIP's 100; no gradient past the clamp) unless
    ``max_logit_scale`` is None (the checkpoint's value as it is, as the official evaluation forward uses it)."""
    if max_logit_scale is not None:
        logit_scale = logit_scale.clamp(max=max_logit_scale)
    return logit_scale.exp()


def cross_entropy_or_zero(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0
                          ) -> torch.Tensor:
    """Cross-entropy over the rows whose target is not :data:`IGNORE_INDEX`; 0 (still in the graph) when every row
    is ignored, where ``F.cross_entropy`` would return NaN and poison the step."""
    if bool((targets == IGNORE_INDEX).all()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing)


def contrastive_loss(image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     label_smoothing: float = 0.0, valid: Optional[torch.Tensor] = None,
                     max_logit_scale: Optional[float] = MAX_LOGIT_SCALE) -> Tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE of L2-normalised (B, D) image and text features across all ranks.

    ``valid`` (B,) bool: pairs whose target counts (the official code drops the target of a pair whose caption is
    empty; such a text is still a negative for the other images). ``max_logit_scale``: see
    :func:`logit_scale_value`. Returns (loss, the local image-to-local-text logits (B, B), detached) — the latter for
    hard-negative mining.
    """
    all_image, offset = gather_with_grad(image)
    all_text, _ = gather_with_grad(text)
    scale = logit_scale_value(logit_scale, max_logit_scale)
    logits_i2t = scale * image @ all_text.t()
    logits_t2i = scale * text @ all_image.t()
    targets = torch.arange(image.shape[0], device=image.device) + offset
    if valid is not None:
        targets = targets.masked_fill(~valid.to(targets.device), IGNORE_INDEX)
    loss = (cross_entropy_or_zero(logits_i2t, targets, label_smoothing)
            + cross_entropy_or_zero(logits_t2i, targets, label_smoothing)) / 2
    local = logits_i2t[:, offset:offset + image.shape[0]].detach()
    return loss, local


@torch.no_grad()
def sample_hard_negatives(logits_i2t: torch.Tensor, text_ids: torch.Tensor, hardness: float = 1.0
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """For every image, one negative text drawn with probability softmax(hardness x similarity).

    ``hardness`` 1 is BLIP-2's ITM mining (the paper's recipe); 0 draws negatives uniformly at random; values in
    between sharpen the draw gradually (a curriculum from random to hard negatives). Texts identical to the
    image's own (same token ids, the diagonal included) are never drawn. Returns (index of the negative text per
    image, whether the image had any valid negative).
    """
    if not 0.0 <= hardness <= 1.0:
        raise ValueError(f'hard-negative hardness must be in [0, 1] (1: the paper\'s mining), got {hardness}')
    same = (text_ids[:, None, :] == text_ids[None, :, :]).all(-1)
    valid = ~same.all(dim=1)
    index = torch.zeros(logits_i2t.shape[0], dtype=torch.long, device=logits_i2t.device)
    if valid.any():  # softmax over the allowed texts only, so no negative underflows to probability 0
        weights = (hardness * logits_i2t[valid].float()).masked_fill(same[valid], float('-inf')).softmax(dim=1)
        index[valid] = torch.multinomial(weights, 1).squeeze(1)
    return index, valid

"""Performance analysis: the analytic FLOP count of InternViT, fvcore counting that works for the 6B model without
materialising it, and the side-by-side benchmark behind ``tools/analysis/benchmark.py``."""
from .flops import (FlopReport, backbone_of, count_model_flops, internvit_macs, internvit_params, matmul_shapes,
                    tokens_for)

__all__ = ['FlopReport', 'backbone_of', 'count_model_flops', 'internvit_macs', 'internvit_params', 'matmul_shapes',
           'tokens_for']

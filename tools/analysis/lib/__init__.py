"""What the analysis tools share, outside the ``internvl_mm`` package (instrumentation, not library code):

- :mod:`.flops`: the analytic FLOP count of InternViT and fvcore counting that works on the meta device
  (``get_flops.py``);
- :mod:`.benchmark`: the side-by-side benchmark against transformers and the matmul ceiling (``benchmark.py``),
  with :mod:`.reference`, transformers' ``InternVLVisionModel`` built with an InternViT's weights;
- :mod:`.memory`: the per-GPU memory planner (``memory_plan.py``);
- :mod:`.model_state`: the parameter / gradient / optimizer bytes a rank holds, and ``ModelStateBytesHook``
  (``scale_benchmark.py``).
"""

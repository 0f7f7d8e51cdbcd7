"""One module per task for what internvl_mm builds on a toolbox's own classes.

``import internvl_mm`` registers only the toolbox-independent modules (InternViT, the feature-pyramid neck,
attention pooling, InternVL-C/G and QLLaMA, image-text data, metrics, hooks, optimizer constructors, strategies,
the zoo), so it imports neither mmseg nor mmdet. A task's modules that subclass its toolbox's classes are
registered by importing that task's module here; every task base config (``configs/_base_/tasks/<task>.py``) does
it through ``custom_imports = dict(imports=['internvl_mm', 'internvl_mm.integrations.<task>'])``:

- :mod:`internvl_mm.integrations.classification` (mmpretrain): ``ProbeClsHead``, the ImageNet robustness sets.
- :mod:`internvl_mm.integrations.segmentation` (mmseg): ``LinearProbeSegHead``.
- :mod:`internvl_mm.integrations.detection` (mmdet): nothing yet (the neck is toolbox-independent).
- :mod:`internvl_mm.integrations.pretraining` (mmpretrain): nothing yet (InternVL imports mmpretrain lazily).

Each module imports its toolbox at the top, so a config whose toolbox is missing fails when it is loaded, naming
the missing package. Importing one of them runs ``internvl_mm/__init__.py`` first (the compatibility fixes).
(mmpretrain's and mmseg's ``models`` packages themselves import optional pieces of mmdet when it is
installed, and work without it: ``tests/test_imports.py`` imports each module with the other toolboxes absent.)
This package itself imports nothing.
"""

"""OpenMMLab-style projects: code that lives next to its configs and is imported from a checkout (the repository
root on ``sys.path``: the tools put it there, tests run from it), e.g. ``custom_imports =
dict(imports=['projects.shapes_demo.shapes.classification'])``. Not installed with ``internvl_mm``."""

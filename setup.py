"""Package metadata for internvl_mm.

Dependencies are installed by ``tools/install/setup_env.sh`` (``make install``) against
``requirements/constraints.txt``: mmcv must be built with ops before the OpenMMLab toolboxes, which a plain
``install_requires`` cannot order.
"""
from setuptools import find_packages, setup


def read_requirements(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


setup(
    name='internvl_mm',
    version='0.1.0',
    description='InternViT-6B (InternVL) as an OpenMMLab backbone for mmpretrain, mmseg and mmdet',
    python_requires='>=3.11',
    packages=find_packages(include=['internvl_mm', 'internvl_mm.*']),
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'openmmlab': read_requirements('requirements/openmmlab.txt'),
                    'tests': read_requirements('requirements/tests.txt')},
    include_package_data=True,
    zip_safe=False,
)

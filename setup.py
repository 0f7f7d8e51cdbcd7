"""Package metadata for internvl_mm.

Dependencies are installed by ``tools/install/setup_env.sh`` (``make install``) against
``requirements/constraints.txt``: mmcv must be built with ops before the OpenMMLab toolboxes, which a plain
``install_requires`` cannot order.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

# What mim reads from an installed OpenMMLab package: <package>/.mim/{model-index.yml, configs, tools}; projects/
# holds the demo configs (`mim train internvl_mm full-ft_internvit-demo_shapes-cls.py` finds them by name).
MIM_FILES = ('model-index.yml', 'configs', 'tools', 'projects')


def add_mim_extension():
    """Puts the model index, configs and tools into ``internvl_mm/.mim`` for mim (``mim search/download/train/test``).

    An editable install (``pip install -e .``: setuptools' ``editable_wheel``, or ``develop``) gets relative symlinks
    to the repository's files, so edits show through; any other build gets copies. The links and copies are
    generated (``.gitignore``d)."""
    if any(cmd in sys.argv for cmd in ('develop', 'editable_wheel')):
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('install', 'sdist', 'bdist_wheel', 'build', 'build_py')):
        mode = 'copy'
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(root, 'internvl_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(root, name), osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)
    if mode == 'symlink':
        link_for_mim(osp.join(root, 'internvl_mm'))


def link_for_mim(package_dir):
    """mim finds a package's files at ``<distribution location>/<name>`` (``mim.utils.get_installed_path``); for a
    PEP 660 editable install the location is site-packages, which has no ``internvl_mm`` folder (an import finder
    maps the name to the repository). A link ``site-packages/internvl_mm`` -> the repository's package gives mim the
    folder it looks for (the legacy ``develop`` install's egg-link did the same). Written only into the interpreter
    that runs this file (``pip install --no-build-isolation -e .``), never over a real folder."""
    import sysconfig
    purelib = sysconfig.get_paths()['purelib']
    link = osp.join(purelib, 'internvl_mm')
    if not os.access(purelib, os.W_OK) or (osp.exists(link) and not osp.islink(link)):
        return
    if osp.islink(link):
        os.remove(link)
    os.symlink(package_dir, link)


add_mim_extension()


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
    package_data={'internvl_mm': ['.mim/*', '.mim/**/*']},
    zip_safe=False,
)

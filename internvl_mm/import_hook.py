"""Triggers :func:`internvl_mm.compat.skip_mmpretrain_multimodal` wherever mmpretrain is imported.

mmseg and mmdet import ``mmpretrain.models`` themselves (``from mmseg.apis import init_model`` does), and without the
fix that import fails on transformers >= 4.4x, so the fix can not wait for ``import internvl_mm``. ``make install``
writes ``internvl_mm-import-hook.pth`` into site-packages; at interpreter start it loads this file (standard library
only, by path: the package itself is not imported then) and :func:`install` puts a finder first on ``sys.meta_path``
that does nothing until ``mmpretrain`` is first imported. Right after mmpretrain's ``__init__`` has run (it imports
``mmpretrain.utils.dependency`` but not ``mmpretrain.models``) the finder imports ``internvl_mm.compat`` (so all of
internvl_mm's fixes apply) and calls the fix, then removes itself.
"""
import importlib.abc
import sys

PTH_NAME = 'internvl_mm-import-hook.pth'
# The one line of the .pth file (site runs lines that start with "import"): finds the package without importing it
# and runs this file; a missing package or file does nothing.
PTH_LINE = ("import importlib.util as u, os; s = u.find_spec('internvl_mm'); "
            "p = s and os.path.join(list(s.submodule_search_locations)[0], 'import_hook.py'); "
            "h = p and os.path.isfile(p) and u.spec_from_file_location('_internvl_mm_import_hook', p); "
            "m = h and u.module_from_spec(h); h and h.loader.exec_module(m); m and m.install()\n")


def trigger():
    try:
        from internvl_mm import compat
    except ModuleNotFoundError as e:  # internvl_mm uninstalled, the .pth left behind
        if e.name != 'internvl_mm':
            raise
        return
    compat.skip_mmpretrain_multimodal()


class AfterMmpretrain(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of ``mmpretrain`` so that :func:`trigger` runs after it."""

    def find_spec(self, name, path=None, target=None):
        if name != 'mmpretrain':
            return None
        sys.meta_path.remove(self)  # once, and no recursion into the finders below
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, 'find_spec') else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            trigger()

        loader.exec_module = exec_module  # this module's loader object only
        return spec


def install():
    """Idempotent; when mmpretrain is already imported the fix is applied now."""
    if 'mmpretrain' in sys.modules:
        trigger()
    elif not any(type(f).__name__ == AfterMmpretrain.__name__ for f in sys.meta_path):
        sys.meta_path.insert(0, AfterMmpretrain())


def write_pth(site_packages: str) -> str:
    """Writes the .pth file into ``site_packages`` (``make install`` calls this); returns its path."""
    import os
    path = os.path.join(site_packages, PTH_NAME)
    with open(path, 'w') as f:
        f.write(PTH_LINE)
    return path


if __name__ == '__main__':  # python internvl_mm/import_hook.py: writes the .pth into this interpreter's site-packages
    import sysconfig
    print(write_pth(sysconfig.get_paths()['purelib']))

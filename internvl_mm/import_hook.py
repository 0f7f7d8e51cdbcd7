"""Triggers :func:`internvl_mm.compat.skip_mmpretrain_multimodal` wherever mmpretrain is imported.

mmseg and mmdet import ``mmpretrain.models`` themselves (``from mmseg.apis import init_model`` does), and without the
fix that import fails on transformers >= 4.4x, so the fix can not wait for ``import internvl_mm``. ``make install``
writes ``internvl_mm-import-hook.pth`` into site-packages; at interpreter start it loads this file (standard library
only, by path: the package itself is not imported then) and :func:`install` puts a finder first on ``sys.meta_path``
that does nothing until ``mmpretrain`` is first imported. Right after mmpretrain's ``__init__`` has run (it imports
``mmpretrain.utils.dependency`` but not ``mmpretrain.models``) the finder imports ``internvl_mm.compat`` (so all of
internvl_mm's fixes apply) and calls the fix, then removes itself.

The same mechanism routes ``mim download``'s file downloads through the zoo (openmim has no plugin hook for it):
when mim imports ``mim.utils``, :func:`route_mim_downloads` wraps its ``download_from_file`` so that the URLs of zoo
releases are fetched by :func:`internvl_mm.zoo.mim.download_for_mim` (verified, resumable) and every other URL by
mim itself. Nothing of internvl_mm is imported until a download starts.
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


def route_mim_downloads(mim_utils):
    """Wrap ``mim.utils.download_from_file`` (mim's download command imports it from there when it runs)."""
    original = mim_utils.download_from_file
    if getattr(original, 'routes_zoo_urls', False):
        return

    def download_from_file(url, dest_path, hash_prefix=None, check_certificate=True):
        try:
            from internvl_mm.zoo.mim import download_for_mim
        except ModuleNotFoundError as e:  # internvl_mm uninstalled, the .pth left behind
            if e.name != 'internvl_mm':
                raise
        else:
            if download_for_mim(url, dest_path):
                return
        return original(url, dest_path, hash_prefix=hash_prefix, check_certificate=check_certificate)

    download_from_file.routes_zoo_urls = True
    download_from_file.__wrapped__ = original
    mim_utils.download_from_file = download_from_file


class AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of the module ``target`` so that ``callback(module)`` runs
    right after the module has executed."""
    target = ''

    def callback(self, module):
        raise NotImplementedError

    def find_spec(self, name, path=None, target=None):
        if name != self.target:
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
            self.callback(module)

        loader.exec_module = exec_module  # this module's loader object only
        return spec


class AfterMmpretrain(AfterImport):
    target = 'mmpretrain'

    def callback(self, module):
        trigger()


class AfterMimUtils(AfterImport):
    target = 'mim.utils'

    def callback(self, module):
        route_mim_downloads(module)


def install():
    """Idempotent; a watched module that is already imported gets its fix now."""
    for finder in (AfterMmpretrain, AfterMimUtils):
        if finder.target in sys.modules:
            finder().callback(sys.modules[finder.target])
        elif not any(type(f).__name__ == finder.__name__ for f in sys.meta_path):
            sys.meta_path.insert(0, finder())


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

"""Importing a toolbox-specific module needs only that toolbox, and every config's ``custom_imports`` registers
what the config uses (checked in fresh processes: this one has imported everything)."""
import functools
import glob
import json
import os.path as osp
import subprocess
import sys
from collections import defaultdict

import pytest
from mmengine.config import Config

import internvl_mm.registry as registry
from tests.helpers import ROOT

# Each script runs in a fresh process with the toolboxes it does not need made unimportable, as if they were not
# installed (mmseg and mmpretrain import mmdet's optional pieces themselves when it is installed, so its absence is
# simulated rather than read off sys.modules). Each prints 'ok'.
BLOCK = '''
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # "import name" now raises ImportError
'''
SCRIPTS = {
    'backbones-and-detection-without-mmseg': ((('mmseg', ), '''
import internvl_mm.models.backbones
assert 'mmdet' not in sys.modules and 'mmpretrain.models' not in sys.modules, sorted(sys.modules)
import internvl_mm.integrations.detection
assert sys.modules.get('mmdet') is not None
''')),
    'classification-and-pretraining-without-mmseg-mmdet': ((('mmseg', 'mmdet'), '''
import internvl_mm.integrations.classification, internvl_mm.integrations.pretraining
from mmpretrain.registry import MODELS
from mmengine.registry import DefaultScope
with DefaultScope.overwrite_default_scope('mmpretrain'):
    MODELS.build(dict(type='ProbeClsHead', num_classes=4, in_channels=8))
''')),
    'segmentation-without-mmdet': ((('mmdet', ), '''
import internvl_mm.integrations.segmentation
from mmseg.registry import MODELS
from mmengine.registry import DefaultScope
with DefaultScope.overwrite_default_scope('mmseg'):
    MODELS.build(dict(type='LinearProbeSegHead', in_channels=8, num_classes=4, in_index=-1))
''')),
}
REGISTERED = '''
import json, sys
from mmengine.utils import import_modules_from_strings
import_modules_from_strings(sys.argv[1:], allow_failed_imports=False)
import internvl_mm.registry as registry
print(json.dumps(sorted({name for r in registry.__all__ for name in getattr(registry, r).module_dict})))
'''


def run_python(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, '-c', code, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_each_toolbox_module_needs_only_its_toolbox(name):
    blocked, script = SCRIPTS[name]
    assert run_python(BLOCK.format(blocked=blocked) + script + "print('ok')\n") == 'ok'


def ours() -> dict:
    """Every name internvl_mm and the projects register (this process imported them all) -> its module."""
    return {name: module.__module__ for r in registry.__all__
            for name, module in getattr(registry, r).module_dict.items()
            if module.__module__.split('.')[0] in ('internvl_mm', 'projects')}


def types_in(node) -> set:
    if isinstance(node, dict):
        found = {node['type']} if isinstance(node.get('type'), str) else set()
        return found.union(*(types_in(v) for v in node.values()))
    if isinstance(node, (list, tuple)):
        return set().union(*(types_in(v) for v in node))
    return set()


@functools.lru_cache()
def configs_by_imports() -> dict:
    """Every shipped config (parsed, not imported), grouped by its custom_imports."""
    paths = sorted(p for pattern in ('configs/**/*.py', 'projects/*/configs/**/*.py')
                   for p in glob.glob(osp.join(ROOT, pattern), recursive=True) if '_base_' not in p)
    groups = defaultdict(list)
    for path in paths:
        cfg = Config.fromfile(path, import_custom_modules=False)
        groups[tuple(cfg.custom_imports['imports'])].append((osp.relpath(path, ROOT), cfg))
    return dict(groups)


def test_every_task_config_names_its_toolbox_integration():
    tasks = {'mmpretrain': ('classification', 'pretraining'), 'mmseg': ('segmentation', ), 'mmdet': ('detection', )}
    for imports, configs in configs_by_imports().items():
        for path, cfg in configs:
            assert imports[0] == 'internvl_mm', path
            assert any(f'internvl_mm.integrations.{t}' in imports for t in tasks[cfg.default_scope]), (path, imports)


@pytest.mark.slow
def test_custom_imports_register_every_type_the_configs_use():
    """Per distinct custom_imports (one fresh process each): the internvl_mm and project types of each config using
    them are registered."""
    names = ours()
    problems = []
    for imports, configs in configs_by_imports().items():
        registered = set(json.loads(run_python(REGISTERED, *imports)))
        for path, cfg in configs:
            missing = (types_in(cfg.to_dict()) & names.keys()) - registered
            if missing:
                problems.append(f'{path}: custom_imports {list(imports)} do not register '
                                f'{sorted(f"{n} ({names[n]})" for n in missing)}')
    assert not problems, '\n'.join(problems)

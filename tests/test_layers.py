"""The package's layers point one way: an import graph of ``internvl_mm/`` that counts every import (function-level
ones included) has no cycle, and the lower layers import nothing from the upper ones or from outside the package."""
import ast
import os
import os.path as osp

from tests.helpers import ROOT

PACKAGE = osp.join(ROOT, 'internvl_mm')
LOWER = ('internvl_mm.errors', 'internvl_mm.weights', 'internvl_mm.registry', 'internvl_mm.models')
UPPER = ('internvl_mm.apis', 'internvl_mm.zoo', 'internvl_mm.engine', 'internvl_mm.datasets',
         'internvl_mm.integrations', 'internvl_mm.evaluation', 'tools', 'projects')


def _modules():
    """module name -> source path for every file of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(folder, name), ROOT)[:-3].replace(os.sep, '.')
                found[rel[:-len('.__init__')] if rel.endswith('.__init__') else rel] = osp.join(folder, name)
    return found


def import_graph(modules=None, sources=None):
    """module -> the modules it imports (resolved to the longest known module name), anywhere in its file."""
    modules = modules or _modules()
    graph = {}
    for module, path in modules.items():
        package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
        source = sources[module] if sources else open(path).read()
        targets = set()
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = package.split('.')
                    base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                names = [f'{base}.{alias.name}' for alias in node.names] + [base]
            else:
                continue
            for name in names:
                while name and name not in modules and name.split('.')[0] in ('internvl_mm', 'tools', 'projects'):
                    if '.' not in name:
                        break
                    name = name.rsplit('.', 1)[0]
                if name in modules and name != module or name.split('.')[0] in ('tools', 'projects'):
                    targets.add(name)
        graph[module] = targets
    return graph


def _synthetic(sources):
    return import_graph({m: f'{m}.py' for m in sources}, sources)


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 'open':
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _is(name, prefixes):
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def test_no_import_cycle_in_the_package():
    assert _cycle(import_graph()) is None, ' -> '.join(_cycle(import_graph()))


def test_lower_layers_do_not_import_upper_ones():
    bad = [(m, t) for m, targets in import_graph().items() if _is(m, LOWER) for t in targets if _is(t, UPPER)]
    assert bad == []


def test_the_checks_can_fail():
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    graph = import_graph()
    assert 'internvl_mm.weights' in graph['internvl_mm.models.backbones.intern_vit']
    assert 'internvl_mm.models.language.tokenizer' in graph['internvl_mm.datasets.transforms']
    # the weights -> zoo import that once hid inside a function counts as an edge (and closes a cycle)
    graph = _synthetic({'internvl_mm.weights': 'def resolve():\n    from internvl_mm.zoo import resolve_uri\n',
                        'internvl_mm.zoo': 'from internvl_mm.weights import open_state_dict\n'})
    assert graph['internvl_mm.weights'] == {'internvl_mm.zoo'}
    assert _cycle(graph) == ['internvl_mm.weights', 'internvl_mm.zoo', 'internvl_mm.weights']

"""No import cycle between the modules of ``chainer_see``, imports inside functions included.

Every module is parsed with :mod:`ast`; every ``import`` and ``from ... import`` of a
``chainer_see`` module anywhere in the file (top level, functions, classes, ``try``,
``if TYPE_CHECKING``) is an edge. ``from package import name`` is an edge to
``package.name`` when that is a module, else to ``package`` (its ``__init__``). An import
does not add edges to the parent packages it initialises: a package that re-exports its
modules would otherwise be in a cycle with each of them.
"""
import ast
import os

import pytest

import chainer_see

PACKAGE = 'chainer_see'
ROOT = os.path.dirname(os.path.abspath(chainer_see.__file__))


def module_files(root=ROOT, package=PACKAGE):
    """``{module name: path}`` of every ``.py`` file under ``root``."""
    modules = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        rel = os.path.relpath(folder, root)
        parts = [package] + ([] if rel == '.' else rel.split(os.sep))
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            stem = name[:-3]
            dotted = '.'.join(parts if stem == '__init__' else parts + [stem])
            modules[dotted] = os.path.join(folder, name)
    return modules


def _resolve_relative(module, is_package, level, target):
    base = module.split('.')
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return '.'.join(base + ([target] if target else []))


def imported_modules(module, path, modules, package=PACKAGE):
    """Names of the ``package`` modules that ``module`` (file ``path``) imports."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    is_package = os.path.basename(path) == '__init__.py'
    found = set()

    def add(name):
        # The longest prefix that is a module of the package (``import a.b.c`` where c is a
        # name defined in a.b would not parse, but be lenient).
        parts = name.split('.')
        while parts:
            candidate = '.'.join(parts)
            if candidate in modules:
                found.add(candidate)
                return
            parts.pop()

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + '.'):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                source = _resolve_relative(module, is_package, node.level, node.module)
            else:
                source = node.module or ''
            if source != package and not source.startswith(package + '.'):
                continue
            for alias in node.names:
                submodule = source + '.' + alias.name
                add(submodule if submodule in modules else source)
    found.discard(module)
    return found


def import_graph(root=ROOT, package=PACKAGE):
    modules = module_files(root, package)
    return {name: sorted(imported_modules(name, path, modules, package))
            for name, path in sorted(modules.items())}


def find_cycle(graph):
    """One cycle of ``graph`` as a list ``[a, b, ..., a]``, or ``None``."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for start in graph:
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour.get(child, BLACK) == GREY:
                return path[path.index(child):] + [child]
            elif colour.get(child) == WHITE:
                colour[child] = GREY
                stack.append((child, iter(graph[child])))
                path.append(child)
    return None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    pkg = tmp_path / 'pkg'
    (pkg / 'sub').mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'sub' / '__init__.py').write_text('from pkg.sub.b import thing\n')
    (pkg / 'a.py').write_text('def f():\n    from pkg.sub import b\n')
    (pkg / 'sub' / 'b.py').write_text(
        'thing = 1\n'
        'class C:\n    def g(self):\n        from .. import a\n'
        'def h():\n    import pkg.c as c\n')
    (pkg / 'c.py').write_text(
        'try:\n    from pkg.sub import thing\nexcept ImportError:\n    pass\n')
    graph = import_graph(str(pkg), 'pkg')
    assert graph == {
        'pkg': [], 'pkg.a': ['pkg.sub.b'], 'pkg.c': ['pkg.sub'],
        'pkg.sub': ['pkg.sub.b'], 'pkg.sub.b': ['pkg.a', 'pkg.c']}
    assert find_cycle(graph) == ['pkg.a', 'pkg.sub.b', 'pkg.a']
    assert find_cycle({'x': ['y'], 'y': []}) is None


def test_no_import_cycle_between_chainer_see_modules():
    graph = import_graph()
    assert len(graph) > 50 and 'chainer_see.training.build' in graph
    assert 'chainer_see.links.see' in graph['chainer_see']
    cycle = find_cycle(graph)
    if cycle is not None:
        pytest.fail('import cycle: ' + ' -> '.join(cycle))


def reachable(graph, start):
    """Modules reachable from ``start`` (itself excluded unless on a cycle)."""
    seen, todo = set(), list(graph[start])
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


def test_evaluation_reaches_nothing_of_training():
    """``training`` builds on ``evaluation`` (metrics, boxes, drawing), never the reverse:
    importing ``chainer_see.training.X`` runs ``training/__init__``, which imports the
    whole training stack, ``evaluation`` included."""
    graph = import_graph()
    bad = {m: sorted(w for w in reachable(graph, m)
                     if w == 'chainer_see.training' or w.startswith('chainer_see.training.'))
           for m in graph if m.startswith('chainer_see.evaluation')}
    bad = {m: ws for m, ws in bad.items() if ws}
    assert not bad, 'evaluation modules that reach training: %s' % bad

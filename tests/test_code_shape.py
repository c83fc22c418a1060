"""The house limits of DEVELOPERS.md, checked: no module of chainer_see/ over 450 lines, no
function of the project's Python over 80 lines (a function that needs more is two)."""
import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _files(*patterns):
    return sorted(f for p in patterns for f in glob.glob(os.path.join(ROOT, p), recursive=True))


PACKAGE = _files('chainer_see/**/*.py')
PROJECT = PACKAGE + _files('*.py', 'experiments/*.py', 'benchmarks/*.py', 'datasets/**/*.py')


def _long_functions(path, limit):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    return ['%s:%d %s (%d lines)' % (os.path.relpath(path, ROOT), n.lineno, n.name,
                                      n.end_lineno - n.lineno + 1)
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > limit]


def test_no_module_of_the_package_is_over_the_limit():
    assert PACKAGE, 'no module found under %s' % ROOT
    over = []
    for path in PACKAGE:
        with open(path) as f:
            n = sum(1 for _ in f)
        if n > MAX_MODULE_LINES:
            over.append('%s (%d lines)' % (os.path.relpath(path, ROOT), n))
    assert over == []


def test_no_function_is_over_the_limit():
    over = [line for path in PROJECT for line in _long_functions(path, MAX_FUNCTION_LINES)]
    assert over == []


@pytest.mark.parametrize('limit,expected', [(3, ['f (4 lines)']), (4, [])])
def test_the_function_check_counts_from_def_to_the_last_line(tmp_path, limit, expected):
    path = tmp_path / 'm.py'
    path.write_text('def f():\n    a = 1\n    b = 2\n    return a + b\n')
    found = [line.split(' ', 1)[1] for line in _long_functions(str(path), limit)]
    assert found == expected

"""setup.py says which Pythons work: Chainer 7.8.1 does not import on 3.12, so an install
there stops at once with one line instead of a broken environment."""
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
from packaging.specifiers import SpecifierSet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _requires():
    text = open(os.path.join(ROOT, 'setup.py'), encoding='utf-8').read()
    return SpecifierSet(re.search(r"PYTHON_REQUIRES = '([^']+)'", text).group(1))


def test_supported_range_holds_this_python_and_not_3_12():
    spec = _requires()
    assert '%d.%d.0' % sys.version_info[:2] in spec
    assert '3.11.7' in spec and '3.9.0' in spec
    assert '3.12.0' not in spec and '3.13.1' not in spec and '3.8.18' not in spec


def _python312():
    found = shutil.which('python3.12')
    candidates = ([found] if found else []) + sorted(glob.glob(
        os.path.expanduser('~/.pyenv/versions/3.12*/bin/python3.12')))
    for path in candidates:
        try:
            subprocess.run([path, '-c', 'pass'], check=True, capture_output=True, timeout=30)
            return path
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def test_setup_on_python_3_12_stops_with_one_line():
    python = _python312()
    if python is None:
        pytest.skip('no Python 3.12 interpreter on this machine')
    r = subprocess.run([python, 'setup.py', '--version'], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and r.stdout == ''
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert 'needs Python 3.9, 3.10 or 3.11' in lines[0] and 'this is Python 3.12' in lines[0]


def test_setup_on_a_supported_python_reads_the_version():
    r = subprocess.run([sys.executable, 'setup.py', '--version'], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == '0.1.0'

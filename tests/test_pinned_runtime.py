"""``runtime.tune_malloc`` measured by what glibc reports (issue 16, step 0): large
blocks come from the heap instead of fresh mmaps, the heap grows by the top pad, and
freed memory stays in the process.  Runs in a fresh process, so that the default
settings can be seen first."""
import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = r'''
import ctypes, ctypes.util, json, sys
import numpy


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks',
        'uordblks', 'fordblks', 'keepcost')]


libc = ctypes.CDLL(ctypes.util.find_library('c'))
libc.mallinfo2.restype = MallInfo2
MB = 1 << 20


def info():
    i = libc.mallinfo2()
    return {'mmapped': i.hblkhd, 'heap': i.arena, 'free': i.fordblks}


out = {}
before = info()
a = numpy.ones(64 * MB // 8)                  # 64 MiB, touched
out['default'] = info(), before
del a
import importlib.util    # the module alone (it needs only ctypes): no Chainer import
spec = importlib.util.spec_from_file_location('runtime', 'chainer_see/runtime.py')
runtime = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtime)
out['applied'] = [runtime.tune_malloc(), runtime.tune_malloc()]
before = info()
a = numpy.ones(64 * MB // 8)
out['tuned'] = info(), before
del a
out['freed'] = info()
print(json.dumps(out))
'''


def _has_mallinfo2():
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6'), 'mallinfo2')
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux') or not _has_mallinfo2(),
                    reason='needs glibc >= 2.33 (mallinfo2)')
def test_tune_malloc_keeps_large_blocks_in_a_padded_heap():
    MB = 1 << 20
    r = subprocess.run([sys.executable, '-c', PROBE], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    after, before = out['default']
    # glibc's default: a 64 MiB block is a fresh mmap of its own
    assert after['mmapped'] - before['mmapped'] >= 64 * MB
    assert out['applied'] == [True, True]
    after, before = out['tuned']
    # tuned: no new mmap; the heap grew by the block plus the top pad (2 ** 29 bytes),
    # less what was free in it already
    assert after['mmapped'] == before['mmapped']
    assert after['heap'] - before['heap'] >= 64 * MB + 2 ** 29 - before['free']
    # freed memory stays in the heap (trim threshold 2 GiB): at least the block
    assert out['freed']['heap'] == after['heap']
    assert out['freed']['free'] >= 64 * MB

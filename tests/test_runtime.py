import ctypes
import ctypes.util
import sys

import pytest

from chainer_see import runtime


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')
def test_tune_malloc_applies_and_is_idempotent():
    assert runtime.tune_malloc() is True
    assert runtime.tune_malloc() is True
    # a 64 MiB block now comes from the heap (brk), so freeing and taking it again is
    # served without a new mmap: malloc_usable_size stays valid and nothing crashes.
    libc = ctypes.CDLL(ctypes.util.find_library('c'))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    p = libc.malloc(64 * 2 ** 20)
    assert p
    libc.free(p)

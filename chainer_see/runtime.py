"""Process-level settings that make CPU training and inference faster.

On CPU every training step allocates and frees arrays of tens of MiB.  glibc hands
blocks above its mmap threshold straight back to the kernel and takes fresh zeroed
pages for the next step (a few microseconds per 4 KiB page); keeping them in the heap
instead saves a large share of a step.  ``tune_malloc()`` does that with ``mallopt``;
it does nothing where glibc is absent.
"""
import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_tuned = None


def tune_malloc(trim_threshold=2 ** 31 - 1, top_pad=2 ** 29):
    """Keep freed memory in the process heap (glibc only).  Returns True if applied.

    Large blocks come from the heap instead of fresh mmaps (``M_MMAP_MAX = 0``; the
    mallopt mmap threshold is capped at 32 MiB, too low for a batch of 200x200 images),
    and the heap is neither trimmed below ``trim_threshold`` bytes of free top memory
    nor grown by less than ``top_pad`` bytes at a time.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        _tuned = False
        return _tuned
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_MAX, 0))
    ok = bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))) and ok
    ok = bool(mallopt(_M_TOP_PAD, int(top_pad))) and ok
    _tuned = ok
    return _tuned

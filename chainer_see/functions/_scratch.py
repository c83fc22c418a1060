"""Per-thread scratch buffers kept between calls, for the CPU FunctionNodes.

Fresh memory costs a page fault per 4 KiB when it is first written (about 2 us each on
a VM), and glibc hands the memory of large freed arrays back to the OS, so a node that
allocated its temporaries on every call paid for every page again.  A ``ScratchPool``
keeps one byte buffer per key and hands out views of it.  Only temporaries that never
outlive the call that asked for them may live here: a later request of the same key
overwrites them.
"""
import threading

import numpy


class ScratchPool(threading.local):
    """Named reusable buffers, one set per thread."""

    def __init__(self):
        self.buffers = {}

    def get(self, key, shape, dtype):
        """An uninitialised array of ``shape``/``dtype``, valid until ``key`` is asked again."""
        dtype = numpy.dtype(dtype)
        nbytes = int(numpy.prod(shape)) * dtype.itemsize
        buf = self.buffers.get(key)
        if buf is None or buf.nbytes < nbytes:
            buf = numpy.empty(max(nbytes, 1), dtype=numpy.uint8)
            self.buffers[key] = buf
        return buf[:nbytes].view(dtype).reshape(shape)

    def release(self):
        """Free this thread's buffers."""
        self.buffers.clear()

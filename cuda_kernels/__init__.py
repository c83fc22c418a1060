"""CUDA sources of chainer-see's CuPy kernels (read as text, compiled by CuPy at run time)."""
import os

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))


def read_source(name):
    """Return the text of ``cuda_kernels/<name>`` (e.g. ``'multi_grid_sampler.cuh'``)."""
    with open(os.path.join(KERNEL_DIR, name), encoding='utf-8') as f:
        return f.read()

"""Silence CuPy's notes about optional CUDA libraries on machines that have none.

Chainer imports CuPy when it is installed; on a CPU machine CuPy then warns about
NCCL/cuTENSOR that nobody asked for.  Import this before ``chainer``.
"""
import warnings

for _lib in ('nccl', 'cuTENSOR', 'cuDNN', 'cuSPARSELt'):
    warnings.filterwarnings('ignore', message=r'(?s).*%s library could not be loaded' % _lib)

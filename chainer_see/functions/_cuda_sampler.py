"""GPU path of :func:`chainer_see.functions.multi_grid_sampler`: CuPy ElementwiseKernels.

The kernel sources live in ``cuda_kernels/``: a preamble with the shared device helpers
(``multi_grid_sampler.cuh``: coordinate mapping, neighbour offsets, bilinear weights) and
one operation body per kernel.  :data:`KERNELS` is the single description of each kernel
(parameters and body file); it is used here to build the ``cupy.ElementwiseKernel`` and by
the tests to build the same kernels with NVRTC and as host C++.

Every parameter is ``raw`` and indexed explicitly with the elementwise index ``i``, so the
bodies need nothing from CuPy but ``i``, ``T`` and ``atomicAdd``.
"""
import collections

import numpy

import cuda_kernels

KernelSpec = collections.namedtuple('KernelSpec', ['in_params', 'out_params', 'body'])

PREAMBLE = 'multi_grid_sampler.cuh'
_SIZES = 'int32 N, int32 C, int32 H, int32 W, int32 HWo'

KERNELS = collections.OrderedDict([
    # one thread per output value
    ('forward', KernelSpec('raw T x, raw T grid, ' + _SIZES, 'raw T y',
                           'multi_grid_sampler_forward.cu')),
    # one thread per output gradient value, atomicAdd into gx
    ('backward_image', KernelSpec('raw T gy, raw T grid, ' + _SIZES, 'raw T gx',
                                  'multi_grid_sampler_backward_image.cu')),
    # one thread per grid point, loop over channels
    ('backward_grid', KernelSpec('raw T x, raw T grid, raw T gy, ' + _SIZES, 'raw T ggrid',
                                 'multi_grid_sampler_backward_grid.cu')),
])


def kernel_name(key):
    return 'chainer_see_mgs_' + key


_kernels = {}


def get_kernel(key):
    """The ``cupy.ElementwiseKernel`` for ``KERNELS[key]``, built once (CuPy caches binaries)."""
    kernel = _kernels.get(key)
    if kernel is None:
        import cupy
        spec = KERNELS[key]
        kernel = cupy.ElementwiseKernel(
            spec.in_params, spec.out_params, cuda_kernels.read_source(spec.body),
            kernel_name(key), preamble=cuda_kernels.read_source(PREAMBLE))
        _kernels[key] = kernel
    return kernel


def _xp(a):
    import chainer.backend
    return chainer.backend.get_array_module(a)


def _sizes(x, grid):
    _, C, H, W = x.shape
    N, Ho, Wo = grid.shape[1], grid.shape[3], grid.shape[4]
    return numpy.int32(N), numpy.int32(C), numpy.int32(H), numpy.int32(W), numpy.int32(Ho * Wo)


def forward(x, grid, get_kernel=get_kernel):
    """x (B, C, H, W), grid (B, N, 2, Ho, Wo) -> y (B, N, C, Ho, Wo).

    ``get_kernel`` is replaceable so that the tests can run this glue with host-compiled
    kernels on NumPy arrays.
    """
    xp = _xp(x)
    x = xp.ascontiguousarray(x)
    grid = xp.ascontiguousarray(grid)
    B, C = x.shape[:2]
    N, Ho, Wo = grid.shape[1], grid.shape[3], grid.shape[4]
    y = xp.empty((B, N, C, Ho, Wo), dtype=x.dtype)
    if y.size:
        get_kernel('forward')(x, grid, *_sizes(x, grid), y, size=y.size)
    return y


def backward(x, grid, gy, need_x, need_grid, get_kernel=get_kernel):
    """Gradients ``(gx or None, ggrid or None)`` of :func:`forward`."""
    xp = _xp(x)
    x = xp.ascontiguousarray(x)
    grid = xp.ascontiguousarray(grid)
    gy = xp.ascontiguousarray(gy)
    sizes = _sizes(x, grid)
    gx = ggrid = None
    if need_x:
        gx = xp.zeros_like(x)
        if gy.size:
            get_kernel('backward_image')(gy, grid, *sizes, gx, size=gy.size)
    if need_grid:
        ggrid = xp.empty_like(grid)
        if grid.size:
            get_kernel('backward_grid')(x, grid, gy, *sizes, ggrid, size=grid.size // 2)
    return gx, ggrid

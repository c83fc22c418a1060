"""Bilinear sampling of N grids from one image, without repeating the image N times.

For every image ``b`` and region ``n``, ``multi_grid_sampler(x, grid)[b, n]`` equals
``chainer.functions.spatial_transformer_sampler(x[b:b+1], grid[b:b+1, n])[0]``: the same
align-corners mapping (grid -1 is pixel 0, +1 pixel W-1), zeros outside the image, and the
same gradients, including Chainer's convention at the edge of the zero border (the gradient
to the grid is 0 where the coordinate is clipped, exactly on the clip bounds too).

The published SEE code concatenated the image N times along the batch axis and called
Chainer's sampler; this function reads the N grids of one image directly.  CPU: vectorised
NumPy (:mod:`._sampler_cpu`); GPU: CuPy ElementwiseKernels whose sources live in
``cuda_kernels/`` (:mod:`._cuda_sampler`).
"""
from chainer import function_node
from chainer.utils import type_check

from chainer_see.functions import _cuda_sampler
from chainer_see.functions import _sampler_cpu


class MultiGridSampler(function_node.FunctionNode):

    """x (B, C, H, W), grid (B, N, 2, Ho, Wo) -> y (B, N, C, Ho, Wo)."""

    _cpu_state = None

    def check_type_forward(self, in_types):
        type_check._argname(in_types, ('x', 'grid'))
        x_type, grid_type = in_types
        type_check.expect(
            x_type.dtype.kind == 'f',
            x_type.dtype.itemsize >= 4,   # float32 or float64
            grid_type.dtype == x_type.dtype,
            x_type.ndim == 4,
            grid_type.ndim == 5,
        )
        type_check.expect(
            grid_type.shape[0] == x_type.shape[0],
            grid_type.shape[2] == 2,
            x_type.shape[2] >= 1,
            x_type.shape[3] >= 1,
        )

    def forward_cpu(self, inputs):
        self.retain_inputs((0, 1))
        x, grid = inputs
        y, self._cpu_state = _sampler_cpu.forward(x, grid)
        return y,

    def forward_gpu(self, inputs):
        self.retain_inputs((0, 1))
        x, grid = inputs
        return _cuda_sampler.forward(x, grid),

    def backward(self, indexes, grad_outputs):
        x, grid = self.get_retained_inputs()
        gy, = grad_outputs
        need = (0 in indexes, 1 in indexes)
        grads = MultiGridSamplerGrad(need, self._cpu_state).apply((x, grid, gy))
        it = iter(grads)
        return tuple(next(it) if needed else None for needed in need)


class MultiGridSamplerGrad(function_node.FunctionNode):

    """(x, grid, gy) -> the requested ones of (gx, ggrid).  First order only."""

    def __init__(self, need, cpu_state):
        self.need = need
        self.cpu_state = cpu_state

    def forward_cpu(self, inputs):
        x, grid, gy = inputs
        state = self.cpu_state
        if state is None:  # forward ran on another device; rebuild
            _, state = _sampler_cpu.forward(x, grid)
        grads = _sampler_cpu.backward(state, gy, *self.need)
        return tuple(g for g, needed in zip(grads, self.need) if needed)

    def forward_gpu(self, inputs):
        x, grid, gy = inputs
        grads = _cuda_sampler.backward(x, grid, gy, *self.need)
        return tuple(g for g, needed in zip(grads, self.need) if needed)

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError(
            'multi_grid_sampler does not support double backpropagation '
            '(its gradient is not differentiable here)')


def multi_grid_sampler(x, grid):
    """Bilinearly sample N grids from each image.

    Args:
        x (:class:`~chainer.Variable` or ndarray): images ``(B, C, H, W)``, float32 or float64.
        grid (:class:`~chainer.Variable` or ndarray): ``(B, N, 2, Ho, Wo)`` of the same dtype;
            channel 0 is x (width axis), 1 is y, ``-1`` is pixel 0 and ``+1`` pixel ``W-1``
            (``H-1``); points outside read zeros.

    Returns:
        ~chainer.Variable: ``(B, N, C, Ho, Wo)``, differentiable with respect to ``x`` and
        ``grid`` (first order).
    """
    y, = MultiGridSampler().apply((x, grid))
    return y

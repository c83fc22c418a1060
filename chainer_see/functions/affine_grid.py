"""Affine sampling grids for N regions per image (paper Eq. 5).

``affine_grid(theta, shape)[:, n]`` equals ``chainer.functions.spatial_transformer_grid(
theta[:, n], shape)``: the output pixel ``(i, j)`` of region ``n`` samples the input at
``theta[b, n] @ (x_j, y_i, 1)``, with ``x_j`` and ``y_i`` linearly spaced over [-1, 1], ends
included.  It is one matrix product with a constant base grid (cached per shape, dtype and
device), so forward, backward and double backward all come from ``F.matmul``.
"""
import functools

import numpy

import chainer
import chainer.functions as F
from chainer import backend


@functools.lru_cache(maxsize=32)
def _base_grid(Ho, Wo, dtype_str, device_name):
    """Rows x, y, 1 of the output pixels, (3, Ho * Wo), on the named device (read-only)."""
    dtype = numpy.dtype(dtype_str)
    # as Chainer: numpy.linspace evaluates in float64, then casts
    ys = numpy.linspace(-1, 1, Ho).astype(dtype)
    xs = numpy.linspace(-1, 1, Wo).astype(dtype)
    base = numpy.empty((3, Ho, Wo), dtype=dtype)
    base[0] = xs[None, :]
    base[1] = ys[:, None]
    base[2] = 1
    base = chainer.get_device(device_name).send(base.reshape(3, Ho * Wo))
    if isinstance(base, numpy.ndarray):
        base.flags.writeable = False
    return base


def affine_grid(theta, shape):
    """Sampling grids from affine matrices.

    Args:
        theta (:class:`~chainer.Variable` or ndarray): ``(B, N, 2, 3)``; ``theta[b, n]`` maps
            output coordinates ``(x, y, 1)`` to input coordinates ``(u, v)`` in [-1, 1].
        shape (tuple of int): ``(Ho, Wo)``, the size of every grid.

    Returns:
        ~chainer.Variable: grid ``(B, N, 2, Ho, Wo)``; channel 0 is x (width axis), 1 is y.
    """
    if len(theta.shape) != 4 or tuple(theta.shape[2:]) != (2, 3):
        raise ValueError('affine_grid: theta must have shape (B, N, 2, 3), got %s'
                         % (tuple(theta.shape),))
    if theta.dtype.kind != 'f':
        raise TypeError('affine_grid: theta must be floating point, got %s' % theta.dtype)
    if len(shape) != 2:
        raise ValueError('affine_grid: shape must be (Ho, Wo), got %s' % (shape,))
    Ho, Wo = (int(s) for s in shape)
    if Ho < 1 or Wo < 1:
        raise ValueError('affine_grid: shape must be two positive ints, got %s' % (shape,))
    B, N = theta.shape[:2]
    array = theta.array if isinstance(theta, chainer.Variable) else theta
    base = _base_grid(Ho, Wo, theta.dtype.str, backend.get_device_from_array(array).name)
    grid = F.matmul(F.reshape(theta, (B * N * 2, 3)), base)
    return F.reshape(grid, (B, N, 2, Ho, Wo))

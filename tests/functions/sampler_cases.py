"""Inputs for the sampler tests: random points mixed with the cases that break samplers.

Image sizes with ``size - 1`` a power of two make the special grid values exact in binary:
pixel centres, the image borders (-1, +1), the ends of the clip range (pixel -1 and
``size``, where Chainer's gradient to the grid switches off), points just inside/outside of
those, and points far outside.
"""
import numpy

import chainer
import chainer.functions as F


def special_values(size):
    """Grid values along an axis of ``size`` pixels that hit the edge cases."""
    step = 2.0 / (size - 1)                     # one pixel in grid units
    centres = -1 + step * numpy.arange(size)    # exactly on pixel centres (incl. +-1)
    clip = [-1 - step, 1 + step]                # exactly on the ends of the clip range
    near = [-1 - 0.5 * step, 1 + 0.5 * step,   # in the zero border
            -1 - 1e-3, 1 + 1e-3, -1 + 1e-3, 1 - 1e-3,
            -1 - step - 1e-3, 1 + step + 1e-3, -1 - step + 1e-3, 1 + step - 1e-3]
    far = [-3.0, 3.0, -100.0, 100.0]
    return numpy.concatenate([centres, clip, near, far])


def make_case(B, N, C, H, W, Ho, Wo, dtype, seed=0, special=0.5):
    """x (B, C, H, W) and grid (B, N, 2, Ho, Wo); a ``special`` share of the grid values
    (per axis) are drawn from :func:`special_values`, the rest uniformly in [-1.4, 1.4]."""
    rng = numpy.random.RandomState(seed)
    x = rng.uniform(-1, 1, (B, C, H, W))
    grid = rng.uniform(-1.4, 1.4, (B, N, 2, Ho, Wo))
    for axis, size in ((0, W), (1, H)):
        pick = rng.rand(B, N, Ho, Wo) < special
        vals = special_values(size)
        grid[:, :, axis][pick] = vals[rng.randint(len(vals), size=int(pick.sum()))]
    return x.astype(dtype), grid.astype(dtype)


def away_from_kinks(grid, H, W, margin=0.05):
    """Move grid values whose pixel coordinate is within ``margin`` pixels of an integer
    (where bilinear sampling has kinks) to the middle of their cell; for finite differences."""
    grid = grid.copy()
    for axis, size in ((0, W), (1, H)):
        g = grid[:, :, axis]
        p = (g + 1) * (size - 1) / 2.0
        frac = p - numpy.floor(p)
        bad = (frac < margin) | (frac > 1 - margin)
        p[bad] = numpy.floor(p[bad]) + 0.5
        g[...] = p / ((size - 1) / 2.0) - 1
    return grid


def reference_sampler(x, grid):
    """Chainer's sampler on the image repeated per region (what the published code did)."""
    B, N, _, Ho, Wo = grid.shape
    C, H, W = x.shape[1:]
    xs = F.repeat(x, N, axis=0)                       # index b * N + n
    y = F.spatial_transformer_sampler(xs, F.reshape(grid, (B * N, 2, Ho, Wo)))
    return F.reshape(y, (B, N, C, Ho, Wo))


def forward_backward(fn, x, grid, gy):
    """(y, gx, ggrid) arrays of fn(Variable(x), Variable(grid)) with output gradient gy."""
    xv = chainer.Variable(x)
    gv = chainer.Variable(grid)
    y = fn(xv, gv)
    y.grad = gy
    y.backward()
    return y.array, xv.grad, gv.grad

import numpy
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_see.functions import affine_grid


def _theta(B, N, dtype, seed=0):
    rng = numpy.random.RandomState(seed)
    base = numpy.array([[0.9, 0.0, 0.0], [0.0, 0.9, 0.0]])
    return (base + rng.uniform(-0.5, 0.5, (B, N, 2, 3))).astype(dtype)


@pytest.mark.parametrize('dtype, tol', [(numpy.float32, 1e-6), (numpy.float64, 1e-14)])
@pytest.mark.parametrize('shape', [(5, 7), (1, 4), (3, 1), (50, 50)])
def test_matches_spatial_transformer_grid_per_region(shape, dtype, tol):
    theta = _theta(3, 4, dtype)
    grid = affine_grid(theta, shape)
    assert isinstance(grid, chainer.Variable)
    assert grid.shape == (3, 4, 2) + shape and grid.dtype == dtype
    for n in range(4):
        ref = F.spatial_transformer_grid(theta[:, n], shape).array
        numpy.testing.assert_allclose(grid.array[:, n], ref, rtol=tol, atol=tol)


def test_identity_and_translation():
    theta = numpy.zeros((1, 2, 2, 3), numpy.float64)
    theta[0, 0] = [[1, 0, 0], [0, 1, 0]]
    theta[0, 1] = [[0.5, 0, 0.25], [0, 0.5, -0.5]]
    grid = affine_grid(theta, (3, 5)).array
    xs = numpy.linspace(-1, 1, 5)
    ys = numpy.linspace(-1, 1, 3)
    numpy.testing.assert_allclose(grid[0, 0, 0], numpy.tile(xs, (3, 1)))
    numpy.testing.assert_allclose(grid[0, 0, 1], numpy.tile(ys[:, None], (1, 5)))
    numpy.testing.assert_allclose(grid[0, 1, 0], numpy.tile(0.5 * xs + 0.25, (3, 1)))
    numpy.testing.assert_allclose(grid[0, 1, 1], numpy.tile(0.5 * ys[:, None] - 0.5, (1, 5)))


def test_gradient_matches_chainer_and_check_backward():
    theta = _theta(2, 3, numpy.float64, seed=1)
    gy = numpy.random.RandomState(2).uniform(-1, 1, (2, 3, 2, 4, 6))
    tv = chainer.Variable(theta)
    g = affine_grid(tv, (4, 6))
    g.grad = gy
    g.backward()
    for n in range(3):
        tn = chainer.Variable(theta[:, n].copy())
        r = F.spatial_transformer_grid(tn, (4, 6))
        r.grad = gy[:, n].copy()
        r.backward()
        numpy.testing.assert_allclose(tv.grad[:, n], tn.grad, rtol=1e-12, atol=1e-12)
    gradient_check.check_backward(lambda t: affine_grid(t, (4, 6)), theta, gy,
                                  dtype=numpy.float64, atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize('theta_shape, shape', [
    ((2, 2, 3), (4, 4)),        # no region axis
    ((2, 1, 3, 3), (4, 4)),     # not 2x3
    ((2, 1, 2, 3), (0, 4)),     # empty grid
])
def test_bad_arguments_are_rejected(theta_shape, shape):
    with pytest.raises(ValueError, match='affine_grid'):
        affine_grid(numpy.zeros(theta_shape, numpy.float32), shape)

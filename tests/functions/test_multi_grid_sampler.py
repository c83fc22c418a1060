import threading
import tracemalloc

import numpy
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_see.functions import multi_grid_sampler
from chainer_see.functions import _sampler_cpu
from tests.functions.sampler_cases import (
    away_from_kinks, forward_backward, make_case, reference_sampler)

# (B, N, C, H, W, Ho, Wo); H - 1 and W - 1 powers of two make the special points exact
SHAPES = [
    (2, 3, 3, 9, 17, 5, 7),
    (1, 1, 1, 5, 3, 1, 4),
    (3, 2, 4, 7, 10, 6, 3),     # sizes where the special points are rounded
]


@pytest.mark.parametrize('dtype, tol', [(numpy.float32, 1e-5), (numpy.float64, 1e-12)])
@pytest.mark.parametrize('shape', SHAPES)
def test_forward_and_gradients_match_chainer(shape, dtype, tol):
    x, grid = make_case(*shape, dtype=dtype, seed=sum(shape))
    gy = numpy.random.RandomState(1).uniform(-1, 1, (shape[0], shape[1], shape[2])
                                             + shape[5:]).astype(dtype)
    ours = forward_backward(multi_grid_sampler, x, grid, gy)
    ref = forward_backward(reference_sampler, x, grid, gy)
    for name, a, b in zip(('y', 'gx', 'ggrid'), ours, ref):
        assert a.dtype == dtype and a.shape == b.shape, name
        numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)


def test_forward_is_bitwise_chainer_on_edge_cases():
    # same operation order as Chainer: not just close, identical
    x, grid = make_case(2, 3, 3, 9, 17, 6, 5, numpy.float32, special=0.9)
    y = multi_grid_sampler(x, grid).array
    assert numpy.array_equal(y, reference_sampler(x, grid).array)


def test_each_region_is_chainers_sampler_on_its_own():
    x, grid = make_case(2, 3, 2, 9, 17, 4, 5, numpy.float32, seed=3)
    y = multi_grid_sampler(x, grid).array
    for b in range(2):
        for n in range(3):
            ref = F.spatial_transformer_sampler(x[b:b + 1], grid[b:b + 1, n]).array[0]
            numpy.testing.assert_allclose(y[b, n], ref, rtol=0, atol=0)


def test_points_outside_read_zero_and_clip_bounds_have_no_grid_gradient():
    H, W = 5, 9
    x = numpy.ones((1, 1, H, W), numpy.float32)
    # x: far left, clip end (pixel -1), half way into the border, border, centre
    gx = numpy.array([-3.0, -1.25, -1.125, -1.0, 0.0], numpy.float32)
    grid = numpy.zeros((1, 1, 2, 1, 5), numpy.float32)
    grid[0, 0, 0, 0] = gx
    gv = chainer.Variable(grid)
    y = multi_grid_sampler(x, gv)
    numpy.testing.assert_array_equal(y.array.ravel(), [0, 0, 0.5, 1, 1])
    y.grad = numpy.ones_like(y.array)
    y.backward()
    # d y / d pixel: +1 inside the border band (0 -> 1 over one pixel), 0 outside and on the
    # clip end (Chainer's mask is strict), 0 on pixel 0 (one-sided: the flat image to its
    # right); times d pixel / d grid = (W - 1) / 2 = 4
    numpy.testing.assert_array_equal(gv.grad[0, 0, 0, 0], [0, 0, 4, 0, 0])


def test_check_backward_float64():
    B, N, C, H, W, Ho, Wo = 2, 3, 2, 6, 7, 3, 4
    x, grid = make_case(B, N, C, H, W, Ho, Wo, numpy.float64, seed=5, special=0.0)
    grid = away_from_kinks(grid, H, W)
    gy = numpy.random.RandomState(6).uniform(-1, 1, (B, N, C, Ho, Wo))
    gradient_check.check_backward(multi_grid_sampler, (x, grid), gy, eps=1e-4,
                                  atol=1e-6, rtol=1e-6, dtype=numpy.float64)


@pytest.mark.parametrize('need', ['x', 'grid'])
def test_gradient_to_one_input_only(need):
    x, grid = make_case(2, 2, 3, 9, 17, 4, 4, numpy.float32, seed=7)
    gy = numpy.random.RandomState(8).uniform(-1, 1, (2, 2, 3, 4, 4)).astype(numpy.float32)
    _, gx_ref, ggrid_ref = forward_backward(reference_sampler, x, grid, gy)
    xv = chainer.Variable(x, requires_grad=(need == 'x'))
    gv = chainer.Variable(grid, requires_grad=(need == 'grid'))
    y = multi_grid_sampler(xv, gv)
    y.grad = gy
    y.backward()
    if need == 'x':
        assert gv.grad is None
        numpy.testing.assert_allclose(xv.grad, gx_ref, rtol=1e-5, atol=1e-5)
    else:
        assert xv.grad is None
        numpy.testing.assert_allclose(gv.grad, ggrid_ref, rtol=1e-5, atol=1e-5)


def test_non_contiguous_inputs_and_gradient():
    x, grid = make_case(2, 3, 3, 9, 17, 5, 4, numpy.float64, seed=9)
    xt = numpy.asfortranarray(x)
    gt = grid.transpose(0, 1, 2, 4, 3).copy().transpose(0, 1, 2, 4, 3)
    gy = numpy.random.RandomState(2).uniform(-1, 1, (2, 3, 5, 4, 3)).transpose(0, 1, 4, 2, 3)
    assert not (xt.flags.c_contiguous or gt.flags.c_contiguous or gy.flags.c_contiguous)
    ours = forward_backward(multi_grid_sampler, xt, gt, gy)
    ref = forward_backward(reference_sampler, x, grid, numpy.ascontiguousarray(gy))
    for a, b in zip(ours, ref):
        numpy.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_scatter_add_fallback_matches_add_at():
    rng = numpy.random.RandomState(0)
    index = rng.randint(0, 50, 1000).astype(numpy.intp)
    values = rng.uniform(-1, 1, 1000).astype(numpy.float32)
    a = numpy.zeros(60, numpy.float32)
    b = numpy.zeros(60, numpy.float32)
    _sampler_cpu.scatter_add(a, index, values, use_add_at=True)
    _sampler_cpu.scatter_add(b, index, values, use_add_at=False)
    assert b.dtype == numpy.float32
    numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(a, numpy.bincount(index, values, minlength=60), atol=1e-5)


def test_the_image_is_not_copied_per_region():
    B, N, C, H, W = 2, 32, 3, 120, 120
    x, grid = make_case(B, N, C, H, W, 4, 4, numpy.float32, seed=4)
    xv = chainer.Variable(x)
    gv = chainer.Variable(grid)
    _sampler_cpu.release_scratch()   # count the scratch buffers too
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        y = multi_grid_sampler(xv, gv)
        y.grad = numpy.ones_like(y.array)
        y.backward()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    # the padded copy, the gradient and its padding: about 2-3 images; N copies would be 32
    assert peak < 4 * x.nbytes, peak / x.nbytes


def test_scratch_buffers_are_not_shared_between_calls():
    # two samplers of different sizes, forward and backward interleaved, in two threads:
    # results must be those of each call on its own
    cases = [make_case(2, 3, 3, 9, 17, 5, 4, numpy.float32, seed=s) for s in (1, 2)]
    cases.append(make_case(1, 2, 2, 5, 9, 7, 8, numpy.float64, seed=3))
    gys = [numpy.random.RandomState(9).uniform(-1, 1, (g.shape[0], g.shape[1], x.shape[1])
                                               + g.shape[3:]).astype(x.dtype)
           for x, g in cases]
    expected = [forward_backward(multi_grid_sampler, x, g, gy)
                for (x, g), gy in zip(cases, gys)]

    def interleaved():
        vs = [(chainer.Variable(x), chainer.Variable(g)) for x, g in cases]
        ys = [multi_grid_sampler(xv, gv) for xv, gv in vs]
        for y, gy in zip(ys[::-1], gys[::-1]):
            y.grad = gy
            y.backward()
        return [(y.array, xv.grad, gv.grad) for y, (xv, gv) in zip(ys, vs)]

    results = []
    threads = [threading.Thread(target=lambda: results.append(interleaved()))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.append(interleaved())
    assert len(results) == 3
    for got in results:
        for g, e in zip(got, expected):
            for a, b in zip(g, e):
                numpy.testing.assert_array_equal(a, b)


def test_double_backprop_is_refused_clearly():
    x, grid = make_case(1, 2, 1, 5, 5, 2, 2, numpy.float64)
    gv = chainer.Variable(grid)
    y = multi_grid_sampler(x, gv)
    ggrid, = chainer.grad([F.sum(y * y)], [gv], enable_double_backprop=True)
    with pytest.raises(NotImplementedError, match='double backprop'):
        F.sum(ggrid).backward()


@pytest.mark.parametrize('x_shape, grid_shape, dtypes', [
    ((2, 3, 4, 4), (2, 1, 2, 3, 3), ('f', 'd')),      # dtype mismatch
    ((2, 3, 4, 4), (3, 1, 2, 3, 3), ('f', 'f')),      # batch mismatch
    ((2, 3, 4, 4), (2, 1, 3, 3, 3), ('f', 'f')),      # 3 coordinates
    ((2, 3, 4), (2, 1, 2, 3, 3), ('f', 'f')),         # image without batch axis
    ((2, 3, 4, 4), (2, 1, 2, 3, 3), ('e', 'e')),      # float16
])
def test_bad_inputs_are_rejected(x_shape, grid_shape, dtypes):
    x = numpy.zeros(x_shape, dtypes[0])
    grid = numpy.zeros(grid_shape, dtypes[1])
    with pytest.raises(chainer.utils.type_check.InvalidType):
        multi_grid_sampler(x, grid)

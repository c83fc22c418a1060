import numpy
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_see.functions import affine_grid, grid_to_boxes, multi_grid_sampler, GridBoxes


def _grid(dtype=numpy.float64, seed=0, shape=(2, 3, 2, 4, 5)):
    rng = numpy.random.RandomState(seed)
    return rng.uniform(-1.2, 1.2, shape).astype(dtype)


def test_arrays_in_arrays_out_with_pixel_corners():
    H, W = 9, 17
    grid = _grid(numpy.float32)
    res = grid_to_boxes(grid, (H, W))
    assert isinstance(res, GridBoxes)
    assert isinstance(res.corners, numpy.ndarray) and isinstance(res.boxes, numpy.ndarray)
    assert res.corners.shape == (2, 3, 4, 2) and res.boxes.shape == (2, 3, 4)
    assert res.corners.dtype == numpy.float32 and res.boxes.dtype == numpy.float32
    for k, (i, j) in enumerate([(0, 0), (0, -1), (-1, -1), (-1, 0)]):   # TL, TR, BR, BL
        numpy.testing.assert_allclose(res.corners[:, :, k, 0], (grid[:, :, 0, i, j] + 1) * 8)
        numpy.testing.assert_allclose(res.corners[:, :, k, 1], (grid[:, :, 1, i, j] + 1) * 4)
    numpy.testing.assert_array_equal(res.boxes[..., :2], res.corners.min(axis=2))
    numpy.testing.assert_array_equal(res.boxes[..., 2:], res.corners.max(axis=2))


def test_identity_grid_box_is_the_whole_image():
    theta = numpy.array([[[[1, 0, 0], [0, 1, 0]]]], numpy.float32)
    res = grid_to_boxes(affine_grid(theta, (3, 4)).array, (64, 100))
    numpy.testing.assert_array_equal(res.corners[0, 0], [[0, 0], [99, 0], [99, 63], [0, 63]])
    numpy.testing.assert_array_equal(res.boxes[0, 0], [0, 0, 99, 63])


def test_corners_are_where_the_sampler_reads():
    # an image whose channels hold the column and row of each pixel: the crop's corner pixels
    # read back the corner coordinates, so both use one pixel mapping
    H, W = 9, 17
    rows, cols = numpy.mgrid[0:H, 0:W].astype(numpy.float64)
    x = numpy.stack([cols, rows])[None]
    grid = numpy.random.RandomState(3).uniform(-0.95, 0.95, (1, 4, 2, 5, 6))
    crops = multi_grid_sampler(x, grid).array                    # (1, 4, 2, 5, 6)
    corners = grid_to_boxes(grid, (H, W)).corners                 # (1, 4, 4, 2)
    for k, (i, j) in enumerate([(0, 0), (0, -1), (-1, -1), (-1, 0)]):
        numpy.testing.assert_allclose(crops[0, :, :, i, j], corners[0, :, k], atol=1e-12)


def test_variables_in_differentiable_variables_out():
    grid = _grid()
    gv = chainer.Variable(grid)
    res = grid_to_boxes(gv, (9, 17))
    assert isinstance(res.corners, chainer.Variable) and isinstance(res.boxes, chainer.Variable)
    numpy.testing.assert_allclose(res.boxes.array, grid_to_boxes(grid, (9, 17)).boxes)
    gc = numpy.random.RandomState(1).uniform(-1, 1, (2, 3, 4, 2))
    gb = numpy.random.RandomState(2).uniform(-1, 1, (2, 3, 4))

    def f(g):
        r = grid_to_boxes(g, (9, 17))
        return r.corners, r.boxes

    # random grids have no ties: min/max are differentiable there
    gradient_check.check_backward(f, grid, (gc, gb), dtype=numpy.float64, atol=1e-7, rtol=1e-7)


def test_tied_corners_share_the_gradient_of_a_box_side():
    # axis-aligned grid (e.g. the initial zoom, or rotation dropout): two corners on each side
    theta = chainer.Variable(numpy.array([[[[0.5, 0, 0.1], [0, 0.4, -0.2]]]], numpy.float64))
    boxes = grid_to_boxes(affine_grid(theta, (5, 6)), (64, 100)).boxes
    width = boxes[:, :, 2] - boxes[:, :, 0]
    height = boxes[:, :, 3] - boxes[:, :, 1]
    F.sum(width + 3 * height).backward()
    # width = 2 * theta_11 * (W - 1) / 2 exactly; summing tied gradients would double it
    numpy.testing.assert_allclose(theta.grad[0, 0],
                                  [[99, 0, 0], [0, 3 * 63, 0]], atol=1e-12)


def test_bad_grid_is_rejected():
    with pytest.raises(ValueError, match='grid_to_boxes'):
        grid_to_boxes(numpy.zeros((2, 2, 4, 4)), (4, 4))

"""Bounding boxes from sampling grids.

The corners of grid ``n`` are the input points sampled by the corner pixels of crop ``n``;
mapped to pixels with the sampler's align-corners convention (grid -1 is pixel 0, +1 is pixel
``W - 1``) they are the region's bounding quadrilateral, and their axis-aligned extent is its
box.  Used by the loss regularizers and by plotting.
"""
import collections

import numpy

import chainer
import chainer.functions as F
from chainer import backend
from chainer import function_node

GridBoxes = collections.namedtuple('GridBoxes', ['corners', 'boxes'])


class _Extent(function_node.FunctionNode):

    """corners (B, N, K, 2) -> (B, N, 4) = (x_min, y_min, x_max, y_max).

    Unlike ``F.min``/``F.max``, which give the whole gradient to every tied element, the
    gradient is split evenly among tied corners.  Ties are the rule, not the exception: an
    axis-aligned grid (the initial zoom, or any grid under rotation dropout) has two corners
    on every side of its box, and summing would double the gradient of every box side.
    """

    def forward(self, inputs):
        corners, = inputs
        xp = backend.get_array_module(corners)
        self.retain_inputs((0,))
        return xp.concatenate([corners.min(axis=2), corners.max(axis=2)], axis=2),

    def backward(self, indexes, grad_outputs):
        corners = self.get_retained_inputs()[0].array
        gy, = grad_outputs
        weights = []
        for extreme in (corners.min(axis=2, keepdims=True), corners.max(axis=2, keepdims=True)):
            hit = (corners == extreme).astype(corners.dtype)
            hit /= hit.sum(axis=2, keepdims=True)
            weights.append(hit)
        g_min = F.broadcast_to(F.expand_dims(gy[:, :, :2], 2), corners.shape)
        g_max = F.broadcast_to(F.expand_dims(gy[:, :, 2:], 2), corners.shape)
        return g_min * weights[0] + g_max * weights[1],


def grid_to_boxes(grid, image_hw):
    """Corner points and axis-aligned boxes of sampling grids, in pixels.

    Args:
        grid (:class:`~chainer.Variable` or ndarray): ``(B, N, 2, Ho, Wo)``, channel 0 = x.
        image_hw (tuple of int): ``(H, W)`` of the image the grids sample.

    Returns:
        GridBoxes: ``corners`` ``(B, N, 4, 2)``, ``(x, y)`` of the top-left, top-right,
        bottom-right and bottom-left grid points (output pixels ``(0, 0)``, ``(0, Wo-1)``,
        ``(Ho-1, Wo-1)``, ``(Ho-1, 0)``); ``boxes`` ``(B, N, 4)`` as
        ``(x_min, y_min, x_max, y_max)``.  Variables in, differentiable Variables out (the
        gradient of a box side is shared evenly by tied corners); arrays in, arrays out.
    """
    if len(grid.shape) != 5 or grid.shape[2] != 2:
        raise ValueError('grid_to_boxes: grid must have shape (B, N, 2, Ho, Wo), got %s'
                         % (tuple(grid.shape),))
    H, W = (int(s) for s in image_hw)
    is_variable = isinstance(grid, chainer.Variable)
    B, N, _, Ho, Wo = grid.shape
    xp = backend.get_array_module(grid)
    pick = xp.asarray(numpy.array([0, Wo - 1, Ho * Wo - 1, (Ho - 1) * Wo], dtype=numpy.intp))
    # pixel = (g + 1) * (size - 1) / 2; (size - 1) / 2 is exact, so this rounds like the sampler
    scale = xp.asarray([(W - 1) / 2.0, (H - 1) / 2.0], dtype=grid.dtype)
    if not is_variable:
        g = grid.reshape(B, N, 2, Ho * Wo)[..., pick].transpose(0, 1, 3, 2)
        corners = (g + 1) * scale
        boxes = xp.concatenate([corners.min(axis=2), corners.max(axis=2)], axis=2)
        return GridBoxes(corners, boxes)
    g = F.reshape(grid, (B, N, 2, Ho * Wo))[..., pick]
    g = F.transpose(g, (0, 1, 3, 2))
    corners = (g + 1) * F.broadcast_to(scale, g.shape)
    boxes, = _Extent().apply((corners,))
    return GridBoxes(corners, boxes)

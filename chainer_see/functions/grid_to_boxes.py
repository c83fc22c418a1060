"""Bounding boxes from sampling grids.

PLACEHOLDER; step 1 replaces it (same signature and result).
"""
import collections

import chainer
import chainer.functions as F

GridBoxes = collections.namedtuple('GridBoxes', ['corners', 'boxes'])


def grid_to_boxes(grid, image_hw):
    """grid (B, N, 2, Ho, Wo) -> GridBoxes(corners (B, N, 4, 2), boxes (B, N, 4)).

    corners: (x, y) pixels of top-left, top-right, bottom-right, bottom-left grid points;
    boxes: (x_min, y_min, x_max, y_max).  Variables in -> Variables out (differentiable).
    """
    H, W = image_hw
    g = grid if isinstance(grid, chainer.Variable) else chainer.Variable(grid)
    pts = F.stack([g[:, :, :, 0, 0], g[:, :, :, 0, -1], g[:, :, :, -1, -1], g[:, :, :, -1, 0]], axis=2)
    scale = g.xp.asarray([(W - 1) / 2.0, (H - 1) / 2.0], dtype=g.dtype)
    corners = (pts + 1) * F.broadcast_to(scale, pts.shape)
    boxes = F.concat([F.min(corners, axis=2), F.max(corners, axis=2)], axis=2)
    if not isinstance(grid, chainer.Variable):
        return GridBoxes(corners.array, boxes.array)
    return GridBoxes(corners, boxes)

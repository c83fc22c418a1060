"""The terms ``SEELoss`` measures on the sampling grids: the regularizers of Eq. 7 (area,
aspect, direction, the height hinge, this project's outside term) in grid units
(:func:`grid_regularizers`, modes ``svhn`` and ``paper``) or as the published FSNS code
measures them, in pixels from the corners (:func:`corner_regularizers`, mode ``fsns``),
and the smooth-L1 box term of ``--box-fraction`` (:func:`box_loss`).  The formulas are in
``chainer_see.training.loss``'s docstring.
"""
import numpy

import chainer.functions as F
from chainer import backend

from chainer_see.functions import grid_to_boxes

MIN_WIDTH_PX = 1.0
#: smooth-L1 of the box term: quadratic below this many grid units (5 % of the view's
#: side), linear above
BOX_BETA = 0.1


def _outside(grids):
    """``(B, M)``: mean over the four corners of how far they lie outside [-1, 1]."""
    g = grids
    corners = F.stack([g[:, :, :, 0, 0], g[:, :, :, 0, -1], g[:, :, :, -1, -1],
                       g[:, :, :, -1, 0]], axis=2)                       # (B, M, 4, 2)
    one = corners.dtype.type(1)
    return F.mean(F.sum(F.relu(F.absolute(corners) - one), axis=3), axis=2)


def box_corner_targets(boxes, num_views, view_size, dtype=numpy.float32):
    """True boxes ``(B, M, 4)`` in pixels of the input (region ``m`` in view
    ``m % num_views``) -> their corners ``(B, M, 4, 2)`` in grid units of the view, in
    the order top-left, top-right, bottom-right, bottom-left (arrays in, arrays out)."""
    xp = backend.get_array_module(boxes)
    b = xp.asarray(boxes, dtype=numpy.float64)
    Hv, Wv = view_size
    M = b.shape[1]
    offset = (xp.arange(M) % num_views).astype(numpy.float64) * Wv         # (M,)
    x0, x1 = b[..., 0] - offset, b[..., 2] - offset
    y0, y1 = b[..., 1], b[..., 3]
    sx, sy = 2.0 / max(Wv - 1, 1), 2.0 / max(Hv - 1, 1)
    gx0, gx1, gy0, gy1 = x0 * sx - 1, x1 * sx - 1, y0 * sy - 1, y1 * sy - 1
    corners = xp.stack([xp.stack([gx0, gy0], -1), xp.stack([gx1, gy0], -1),
                        xp.stack([gx1, gy1], -1), xp.stack([gx0, gy1], -1)], axis=2)
    return corners.astype(dtype)


def box_loss(grids, boxes, box_mask, view_size, num_views=1, beta=BOX_BETA):
    """Per-image box term ``(B,)`` (Variable) of the grids ``(B, M, 2, Ho, Wo)`` against
    the true boxes ``(B, M, 4)`` (pixels of the input) where ``box_mask`` ``(B, M)`` is
    non-zero: smooth-L1 between the grid's corners and the box's, in grid units (module
    docstring).  Images without a boxed region get 0 and no gradient."""
    xp = backend.get_array_module(grids)
    dt = grids.dtype
    B, M = grids.shape[:2]
    boxes = xp.asarray(getattr(boxes, 'array', boxes))
    mask = xp.asarray(getattr(box_mask, 'array', box_mask))
    if boxes.shape != (B, M, 4) or mask.shape != (B, M):
        raise ValueError('box labels have shapes %s and mask %s; the model has (B, N*V) = '
                         '%s regions: boxes (B, N*V, 4), mask (B, N*V)'
                         % (tuple(boxes.shape), tuple(mask.shape), (B, M)))
    mask = (mask != 0)
    target = box_corner_targets(boxes, num_views, view_size, dt)           # (B, M, 4, 2)
    target = xp.where(mask[:, :, None, None], target, dt.type(0))           # NaN-free
    g = grids
    corners = F.stack([g[:, :, :, 0, 0], g[:, :, :, 0, -1], g[:, :, :, -1, -1],
                       g[:, :, :, -1, 0]], axis=2)                          # (B, M, 4, 2)
    per_coord = F.huber_loss(corners, target, dt.type(beta), reduce='no') / dt.type(beta)
    per_region = F.mean(F.reshape(per_coord, (B, M, 8)), axis=2)           # (B, M)
    count = mask.sum(axis=1)                                                # (B,)
    weights = mask.astype(dt) / xp.maximum(count, 1).astype(dt)[:, None]    # (B, M)
    return F.sum(per_region * weights, axis=1)


def grid_regularizers(grids, view_size, height_hinge=None):
    """Per-grid regularizer values (Variables ``(B, M)``) from grids ``(B, M, 2, Ho, Wo)``,
    in the hull geometry of modes ``'svhn'`` and ``'paper'`` (module docstring).

    Returns a dict with ``area``, ``aspect``, ``direction``, ``outside``, ``width`` (the
    hull's width over the view's, ``width / (Wv - 1)``) and, when ``height_hinge`` is a
    number, ``height``.
    """
    Hv, Wv = view_size
    corners, boxes = grid_to_boxes(grids, (Hv, Wv))           # (B, M, 4, 2), (B, M, 4) px
    xp = backend.get_array_module(corners)
    dt = corners.dtype
    width = boxes[:, :, 2] - boxes[:, :, 0]
    height = boxes[:, :, 3] - boxes[:, :, 1]
    out = {}
    out['area'] = width * height / dt.type(max(Wv - 1, 1) * max(Hv - 1, 1))
    out['width'] = width / dt.type(max(Wv - 1, 1))
    w = F.maximum(width, xp.full(width.shape, MIN_WIDTH_PX, dtype=dt))
    out['aspect'] = F.relu(height / w - dt.type(0.5))
    # corners: top-left, top-right, bottom-right, bottom-left; (x, y) pixels
    sy = dt.type(2.0 / max(Hv - 1, 1))
    sx = dt.type(2.0 / max(Wv - 1, 1))
    out['direction'] = (F.relu(corners[:, :, 0, 1] - corners[:, :, 3, 1]) * sy
                        + F.relu(corners[:, :, 0, 0] - corners[:, :, 1, 0]) * sx)
    out['outside'] = _outside(grids)
    if height_hinge is not None:
        out['height'] = F.relu(dt.type(height_hinge) - height)
    return out


def corner_regularizers(grids, view_size, height_hinge=None):
    """Per-grid regularizer values (Variables ``(B, M)``) from grids ``(B, M, 2, Ho, Wo)``,
    as the published FSNS loss measures them (mode ``'fsns'``, module docstring): sides
    as Euclidean distances between corners, pixels ``(g + 1) / 2 * size``, direction in
    pixels.

    Returns a dict with ``area``, ``aspect``, ``direction``, ``outside``, ``width`` (the
    top side over the view's width, ``width / Wv``) and, when ``height_hinge`` is a
    number, ``height``.
    """
    Hv, Wv = view_size
    dt = grids.dtype
    one, half = dt.type(1), dt.type(0.5)

    def pixels(i, j):          # (x, y) of grid point (i, j) in pixels of the view
        p = (grids[:, :, :, i, j] + one) * half                          # (B, M, 2)
        return p[:, :, 0] * dt.type(Wv), p[:, :, 1] * dt.type(Hv)

    (x0, y0), (x1, y1), (x2, y2) = pixels(0, 0), pixels(0, -1), pixels(-1, 0)
    width = F.sqrt(F.square(x1 - x0) + F.square(y1 - y0))               # tl .. tr
    height = F.sqrt(F.square(x2 - x0) + F.square(y2 - y0))              # tl .. bl
    xp = backend.get_array_module(grids)
    out = {}
    out['area'] = width * height / dt.type(Wv * Hv)
    out['width'] = width / dt.type(Wv)
    w = F.maximum(width, xp.full(width.shape, MIN_WIDTH_PX, dtype=dt))
    out['aspect'] = F.relu(height / w - half)
    out['direction'] = F.relu(y0 - y2) + F.relu(x0 - x1)
    out['outside'] = _outside(grids)
    if height_hinge is not None:
        out['height'] = F.relu(dt.type(height_hinge) - height)
    return out

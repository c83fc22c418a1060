"""Box helpers in the project's pixel convention.

Boxes are ``(x_min, y_min, x_max, y_max)`` with the centre of pixel column ``j`` at
``x = j`` and of row ``i`` at ``y = i`` (as ``grid_to_boxes``); a box spans the outer
edges of its pixels, so a box around columns ``a..b`` has ``x_min = a - 0.5`` and
``x_max = b + 0.5``.  The whole image of width W spans ``[-0.5, W - 0.5]``.
"""
import numpy


def rescale_boxes(boxes, from_hw, to_hw):
    """Boxes of an image of size ``from_hw`` -> the same boxes after resizing to ``to_hw``.

    A resize maps pixel edges to pixel edges, so ``x' = (x + 0.5) * W'/W - 0.5``.
    """
    b = numpy.asarray(boxes, numpy.float32).reshape(-1, 4).copy()
    sy = float(to_hw[0]) / from_hw[0]
    sx = float(to_hw[1]) / from_hw[1]
    b[:, 0::2] = (b[:, 0::2] + 0.5) * sx - 0.5
    b[:, 1::2] = (b[:, 1::2] + 0.5) * sy - 0.5
    return b


def ink_box(mask, threshold=0.5):
    """Tight box around the pixels of ``mask`` (H, W) above ``threshold``; ``None`` if none."""
    m = numpy.asarray(mask) > threshold
    cols = numpy.flatnonzero(m.any(axis=0))
    if len(cols) == 0:
        return None
    rows = numpy.flatnonzero(m.any(axis=1))
    return numpy.array([cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5],
                       numpy.float32)


def union_box(boxes):
    """Smallest box holding all ``boxes`` (n, 4)."""
    b = numpy.asarray(boxes, numpy.float32).reshape(-1, 4)
    return numpy.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()],
                       numpy.float32)

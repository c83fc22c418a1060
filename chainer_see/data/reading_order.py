"""Reading order of word boxes: top to bottom, then left to right.

The one definition every generator and converter uses:

1. Two boxes are on the same *line* when their vertical extents overlap by more than
   ``overlap`` (default one half) of the smaller of the two heights.
2. Lines are the connected groups of that relation (a chain of pairwise overlaps
   joins boxes into one line).
3. Lines go top to bottom, ordered by their highest point (smallest ``y_min``; ties by
   smallest ``x_min``).
4. Inside a line boxes go left to right by ``x_min`` (ties by ``y_min``, then by their
   original index, so the order is fully determined).

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels (y grows downwards).
"""
import numpy


def reading_order(boxes, overlap=0.5):
    """Permutation (list of int) that puts ``boxes`` (n, 4) in reading order."""
    b = numpy.asarray(boxes, dtype=numpy.float64).reshape(-1, 4)
    n = len(b)
    if n == 0:
        return []
    heights = numpy.maximum(b[:, 3] - b[:, 1], 0.0)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            inter = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
            if inter > overlap * min(heights[i], heights[j]) and inter > 0:
                parent[find(i)] = find(j)
    lines = {}
    for i in range(n):
        lines.setdefault(find(i), []).append(i)
    ordered = sorted(lines.values(),
                     key=lambda members: (min(b[k, 1] for k in members),
                                          min(b[k, 0] for k in members)))
    order = []
    for members in ordered:
        order.extend(sorted(members, key=lambda k: (b[k, 0], b[k, 1], k)))
    return order


def sort_in_reading_order(boxes, *items, overlap=0.5):
    """Sort ``boxes`` and any parallel lists ``items`` (e.g. the words) together.

    Returns ``(boxes float32 (n, 4), [item lists...])`` in reading order.
    """
    order = reading_order(boxes, overlap=overlap)
    b = numpy.asarray(boxes, dtype=numpy.float32).reshape(-1, 4)[order]
    return (b,) + tuple([seq[k] for k in order] for seq in items)

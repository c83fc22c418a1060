"""Placing several crops on one canvas: the 2x2 grid and the random layout.

Shared by the synthetic ``svhn-grid`` / ``svhn-random`` kinds and the SVHN converter's
grid and random builders, so that both make the same kind of images (paper: four
house numbers in a regular 2x2 grid on 200x200; 1-4 numbers at random non-overlapping
places on 200x200, Fig. 5).  Placements are ``(x, y, w, h)`` in integer pixels.
"""
import numpy

from chainer_see.data.errors import DataError


def grid_layout(rng, canvas_hw=(200, 200), rows=2, cols=2, min_size=56, max_size=96):
    """One square placement per cell of a ``rows x cols`` grid, random size and offset.

    Args:
        rng (random.Random): the randomness.
        min_size, max_size (int): side of each square, at most the cell size.
    """
    H, W = canvas_hw
    ch, cw = H // rows, W // cols
    hi = min(max_size, ch, cw)
    lo = min(min_size, hi)
    out = []
    for r in range(rows):
        for c in range(cols):
            s = rng.randint(lo, hi)
            x = c * cw + rng.randint(0, cw - s)
            y = r * ch + rng.randint(0, ch - s)
            out.append((x, y, s, s))
    return out


def _overlap(a, b, gap):
    return (a[0] < b[0] + b[2] + gap and b[0] < a[0] + a[2] + gap
            and a[1] < b[1] + b[3] + gap and b[1] < a[1] + a[3] + gap)


def random_layout(rng, count, canvas_hw=(200, 200), min_size=48, max_size=96, gap=2,
                  tries=200, restarts=50):
    """``count`` squares at random non-overlapping places (at least ``gap`` pixels apart).

    Sizes are drawn in ``[min_size, max_size]``; a square that does not fit after
    ``tries`` positions is drawn again smaller, down to ``min_size``.  Greedy placement
    can paint itself into a corner (about 1 in 3,000 layouts of four squares on
    200x200: the first squares, large and central, leave no room); then the layout starts
    over, up to ``restarts`` times (then ``RuntimeError``: the canvas is too small for
    the request).  A layout that fits at the first attempt draws the same numbers as
    without restarts, so such data stay byte-identical.
    """
    for _ in range(restarts):
        placed = _greedy_layout(rng, count, canvas_hw, min_size, max_size, gap, tries)
        if placed is not None:
            return placed
    H, W = canvas_hw
    raise RuntimeError('cannot place %d squares of at least %d px on %dx%d'
                       % (count, min_size, W, H))


def _greedy_layout(rng, count, canvas_hw, min_size, max_size, gap, tries):
    """One greedy attempt of ``random_layout``; ``None`` when a square found no place."""
    H, W = canvas_hw
    placed = []
    for _ in range(count):
        hi = min(max_size, H, W)
        s = rng.randint(min(min_size, hi), hi)
        while True:
            ok = None
            for _ in range(tries):
                cand = (rng.randint(0, W - s), rng.randint(0, H - s), s, s)
                if not any(_overlap(cand, p, gap) for p in placed):
                    ok = cand
                    break
            if ok is not None:
                placed.append(ok)
                break
            if s <= min_size:
                return None
            s = max(min_size, int(s * 0.8))
    return placed


def paste(canvas, crop, placement):
    """Write ``crop`` (h, w, 3) uint8 into ``canvas`` (H, W, 3) at ``placement``."""
    x, y, w, h = placement
    if crop.shape[:2] != (h, w):
        raise ValueError('crop of shape %s does not fit placement %s' % (crop.shape, placement))
    canvas[y:y + h, x:x + w] = crop


def check_count_range(min_numbers, max_numbers, limit=None, where='options'):
    if not 1 <= min_numbers <= max_numbers or (limit is not None and max_numbers > limit):
        raise DataError(where, None, 'need 1 <= min numbers <= max numbers%s, got %d and %d'
                        % ('' if limit is None else ' <= %d' % limit, min_numbers, max_numbers))


def placed_boxes(box, from_hw, placement):
    """A box in a crop of size ``from_hw`` -> pixels of the canvas once the crop is
    resized to the placement and pasted there."""
    x, y, w, h = placement
    b = numpy.asarray(box, numpy.float32).reshape(-1, 4).copy()
    b[:, 0::2] = (b[:, 0::2] + 0.5) * (float(w) / from_hw[1]) - 0.5 + x
    b[:, 1::2] = (b[:, 1::2] + 0.5) * (float(h) / from_hw[0]) - 0.5 + y
    return b

"""Argument types of the command lines: numbers with a range, and a message that says
which range (``expected a number > 0, got -3``), as argparse shows for a bad value."""
import argparse


def bounded(kind, low, low_inclusive=True, high=None):
    """An argparse ``type``: ``kind(text)`` within ``[low, high)`` (``(low, high)`` when not
    ``low_inclusive``; no upper bound when ``high`` is None)."""
    what = 'whole number' if kind is int else 'number'

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError('expected a %s, got %r' % (what, text))
        ok = (v >= low) if low_inclusive else (v > low)
        if ok and high is not None:
            ok = v < high
        if not ok:
            rng = '%s %s' % ('>=' if low_inclusive else '>', low)
            if high is not None:
                rng = 'in [%s, %s)' % (low, high)
            raise argparse.ArgumentTypeError('expected a number %s, got %s' % (rng, text))
        return v
    parse.__name__ = kind.__name__
    return parse


positive_int = bounded(int, 0, low_inclusive=False)
count = bounded(int, 0)
non_negative = bounded(float, 0)
positive = bounded(float, 0, low_inclusive=False)
fraction = bounded(float, 0, high=1)


def image_size(text):
    """An argparse ``type``: ``'64'`` or ``'64x48'`` (height x width) -> ``(h, w)``."""
    parts = text.lower().split('x')
    try:
        hw = [int(p) for p in parts]
    except ValueError:
        hw = []
    if len(hw) == 1:
        hw = hw * 2
    if len(hw) != 2 or min(hw) <= 0:
        raise argparse.ArgumentTypeError('expected a size S or HxW in pixels (e.g. 64 or '
                                         '64x48), got %r' % text)
    return tuple(hw)

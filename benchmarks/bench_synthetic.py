#!/usr/bin/env python
"""Milliseconds per image of the synthetic generators against a plain rendering of the
same images, measured in the same process (one core).

    python benchmarks/bench_synthetic.py [--count 200] [--repeat 3]

Per kind, the time of ``dataset[i]`` (render + float32 conversion), best of
``--repeat`` runs, twice:

* ``plain``: the same generator with this project's rendering shortcuts turned off
  (:func:`plain_rendering`): every number is drawn from the TrueType font when it is
  needed (``ImageFont.truetype`` and ``font.getmask`` per digit, as a straightforward
  PIL renderer does) instead of pasting the digit masks pre-rendered once per process,
  fonts are opened anew instead of taken from a cache, and the noise of every image is
  drawn fresh from a normal distribution instead of cut out of a fixed table.  The
  random choices are consumed exactly as by the project's code, so both renderings show
  the same numbers and words at the same places with the same true boxes; only the
  noise differs;
* ``ours``: the generator as it is.

The ratio is plain / ours (how many times faster).  Fonts of the project's caches are
built before its timing; the plain rendering has nothing to build.
"""
import argparse
import contextlib
import os
import sys
import time

import numpy
from PIL import ImageFont

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, _ROOT)

from chainer_see.data import render  # noqa: E402
from chainer_see.data.synthetic import KINDS, SyntheticDataset  # noqa: E402

DIGITS = '0123456789'


def plain_font(index, size):
    """``ImageFont.truetype`` opened anew on every call (no cache)."""
    return ImageFont.truetype(render.font_paths()[index], int(size))


class _PlainMasks(object):
    def __init__(self, glyphs):
        self.glyphs = glyphs

    def __getitem__(self, c):
        return self.glyphs.mask(c)


class PlainGlyphs(object):
    """The digits of one font and stroke weight drawn from the font on every use.

    Same interface and the same masks as ``render.GlyphSet`` (which renders the ten
    digits once per process and pastes them afterwards).
    """

    def __init__(self, font_index, bold=0):
        self.font_index, self.bold = font_index, bold   # nothing is opened until used
        self.masks = _PlainMasks(self)

    def _font_and_height(self):
        font = plain_font(self.font_index, render.GLYPH_HEIGHT)
        self.top = min(font.getbbox(c)[1] for c in DIGITS)
        bottom = max(font.getbbox(c)[3] for c in DIGITS)
        self.height = bottom - self.top + 2 * (self.bold + 1)
        return font

    def mask(self, c, font=None):
        font = font or self._font_and_height()
        return render.glyph_mask(font, c, self.top, self.height, self.bold)

    def number(self, digits, spacing):
        font = self._font_and_height()
        gap = int(round(spacing * self.height))
        return render.compose([self.mask(c, font) for c in digits], self.height, gap)


def plain_glyph_sets():
    """Every font and stroke weight, as :class:`PlainGlyphs` (nothing pre-rendered)."""
    return tuple(PlainGlyphs(i, bold) for i in range(len(render.font_paths()))
                 for bold in (0, 1))


def plain_noise(rng, h, w, channels=3):
    """Fresh N(0, 1) noise per image; draws from ``rng`` what ``render.noise`` draws (one
    window offset per channel), so every later random choice stays the same."""
    t = render.noise_table().shape
    out = numpy.empty((h, w, channels), numpy.float32)
    for c in range(channels):
        y = rng.randrange(t[0] - h + 1)
        x = rng.randrange(t[1] - w + 1)
        out[:, :, c] = numpy.random.RandomState(y * t[1] + x).standard_normal((h, w))
    return out


@contextlib.contextmanager
def plain_rendering():
    """Inside: ``chainer_see.data.render`` without its caches and pre-rendered glyphs."""
    saved = render.get_font, render.glyph_sets, render.noise
    render.get_font, render.glyph_sets, render.noise = plain_font, plain_glyph_sets, plain_noise
    try:
        yield
    finally:
        render.get_font, render.glyph_sets, render.noise = saved


def time_kind(kind, n, repeat, plain):
    """Best of ``repeat`` runs: milliseconds per ``dataset[i]`` of ``n`` images."""
    best = float('inf')
    ctx = plain_rendering if plain else contextlib.nullcontext
    for r in range(repeat):
        ds = SyntheticDataset(kind, n + 1, seed=r)
        with ctx():
            ds[0]     # ours: fonts, glyphs and the noise table are built here
            t = time.perf_counter()
            for i in range(1, n + 1):
                ds[i]
            best = min(best, (time.perf_counter() - t) / n * 1000.0)
    return best


def main(argv=None, out=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].replace('\n', ' '))
    p.add_argument('--count', type=int, default=200, help='images per kind (fsns-like: /4)')
    p.add_argument('--repeat', type=int, default=3, help='best of this many runs')
    p.add_argument('--kinds', default=','.join(KINDS), help='comma-separated kinds to time')
    args = p.parse_args(argv)
    out = out or sys.stdout
    out.write('%-12s %12s %12s %8s\n' % ('kind', 'plain ms/img', 'ours ms/img', 'ratio'))
    for kind in [k for k in args.kinds.split(',') if k]:
        n = max(args.count // (4 if kind == 'fsns-like' else 1), 1)
        plain = time_kind(kind, n, args.repeat, plain=True)
        ours = time_kind(kind, n, args.repeat, plain=False)
        out.write('%-12s %12.2f %12.2f %7.2fx\n' % (kind, plain, ours, plain / ours))
    return 0


if __name__ == '__main__':
    sys.exit(main())

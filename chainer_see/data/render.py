"""Rendering helpers for the synthetic data: fonts, pre-rendered digit glyphs,
backgrounds, colours, blur and noise.  Everything expensive is built once per process
and cached (fonts, glyph masks, a noise table), so one image costs little.

Fonts are the DejaVu family that matplotlib ships (its ``fonts/ttf`` folder); the
``Display`` variants are left out (they hold no letters or digits).
"""
import functools
import os

import numpy
from PIL import Image, ImageFilter, ImageFont

FONT_FILES = (
    'DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf',
    'DejaVuSans-BoldOblique.ttf', 'DejaVuSerif.ttf', 'DejaVuSerif-Bold.ttf',
    'DejaVuSerif-Italic.ttf', 'DejaVuSerif-BoldItalic.ttf', 'DejaVuSansMono.ttf',
    'DejaVuSansMono-Bold.ttf', 'DejaVuSansMono-Oblique.ttf', 'DejaVuSansMono-BoldOblique.ttf',
)

GLYPH_HEIGHT = 48  # font size of the pre-rendered digits


@functools.lru_cache(maxsize=None)
def font_dir():
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf')


@functools.lru_cache(maxsize=None)
def font_paths():
    """Paths of the DejaVu fonts used (those present in this matplotlib)."""
    paths = tuple(os.path.join(font_dir(), n) for n in FONT_FILES
                  if os.path.exists(os.path.join(font_dir(), n)))
    if not paths:
        raise RuntimeError('no DejaVu fonts found in %s' % font_dir())
    return paths


@functools.lru_cache(maxsize=512)
def get_font(index, size):
    """Cached ``ImageFont`` of font ``index`` (into :func:`font_paths`) at ``size`` px."""
    return ImageFont.truetype(font_paths()[index], int(size))


def glyph_mask(font, c, top, height, bold=0):
    """uint8 mask (height, width) of character ``c`` drawn with ``font``: ink from the
    font's ``top`` down, ``bold + 1`` pixels of padding, strokes thickened by ``bold``
    pixels, the empty columns left and right cut off."""
    pad = bold + 1
    m = font.getmask(c)
    x0, y0, x1, y1 = font.getbbox(c)
    img = Image.new('L', (int(font.getlength(c)) + 2 * pad, height), 0)
    img.paste(255, (pad + x0, pad + y0 - top), Image.frombytes('L', m.size, bytes(m)))
    if bold:
        img = img.filter(ImageFilter.MaxFilter(2 * bold + 1))
    a = numpy.asarray(img)
    cols = numpy.flatnonzero(a.max(axis=0) > 0)
    return numpy.ascontiguousarray(a[:, cols[0]:cols[-1] + 1])


def compose(parts, height, gap):
    """The masks ``parts`` (each (height, w)) side by side, ``gap`` pixels apart, as one
    uint8 mask; a negative gap overlaps them (never beyond the whole width)."""
    width = sum(p.shape[1] for p in parts) + gap * (len(parts) - 1)
    width = max(width, max(p.shape[1] for p in parts))
    out = numpy.zeros((height, width), numpy.uint8)
    x = 0
    for p in parts:
        w = p.shape[1]
        x = min(x, width - w)
        numpy.maximum(out[:, x:x + w], p, out=out[:, x:x + w])
        x += w + gap
    return out


class GlyphSet(object):
    """The ten digits of one font (and stroke weight) as uint8 masks of equal height.

    ``masks[d]`` is (height, width_d); all share the baseline, so placing them side by
    side makes a number.
    """

    def __init__(self, font_index, bold=0):
        font = get_font(font_index, GLYPH_HEIGHT)
        top = min(font.getbbox(c)[1] for c in '0123456789')
        bottom = max(font.getbbox(c)[3] for c in '0123456789')
        self.height = bottom - top + 2 * (bold + 1)
        self.masks = {c: glyph_mask(font, c, top, self.height, bold) for c in '0123456789'}

    def number(self, digits, spacing):
        """uint8 mask (height, width) of ``digits`` with ``spacing`` (fraction of the
        height) between glyphs."""
        gap = int(round(spacing * self.height))
        return compose([self.masks[c] for c in digits], self.height, gap)


@functools.lru_cache(maxsize=None)
def glyph_sets():
    """All digit glyph sets: every font, normal and bolder strokes."""
    return tuple(GlyphSet(i, bold) for i in range(len(font_paths())) for bold in (0, 1))


@functools.lru_cache(maxsize=None)
def noise_table():
    """A fixed table of N(0, 1) noise; images take random windows of it."""
    return numpy.random.RandomState(20180205).standard_normal((600, 1200)).astype(numpy.float32)


def noise(rng, h, w, channels=3):
    """(h, w, channels) float32 noise from :func:`noise_table` at a random offset."""
    t = noise_table()
    out = numpy.empty((h, w, channels), numpy.float32)
    for c in range(channels):
        y = rng.randrange(t.shape[0] - h + 1)
        x = rng.randrange(t.shape[1] - w + 1)
        out[:, :, c] = t[y:y + h, x:x + w]
    return out


def luminance(c):
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255.0


def random_colour(rng, lum_range=(0.0, 1.0), saturation=(0.0, 1.0)):
    """An RGB tuple (0..255 floats) with luminance in ``lum_range``."""
    for _ in range(50):
        base = rng.uniform(*lum_range) * 255.0
        sat = rng.uniform(*saturation)
        c = [min(max(base + sat * rng.uniform(-120, 120), 0.0), 255.0) for _ in range(3)]
        if lum_range[0] <= luminance(c) <= lum_range[1]:
            return tuple(c)
    v = 255.0 * sum(lum_range) / 2
    return (v, v, v)


def contrasting_colours(rng, min_contrast=0.35):
    """``(background, foreground)`` colours whose luminances differ by ``min_contrast``+."""
    bg = random_colour(rng, saturation=(0.0, 0.8))
    lb = luminance(bg)
    if lb > 0.5:
        hi = lb - min_contrast
        fg = random_colour(rng, (0.0, max(hi, 0.0)), (0.0, 0.9))
    else:
        lo = lb + min_contrast
        fg = random_colour(rng, (min(lo, 1.0), 1.0), (0.0, 0.9))
    return bg, fg


def smooth_field(rng, h, w, cells=4, channels=3):
    """Low-frequency random field (h, w, channels) in about [-1, 1] (bilinear upsampling)."""
    small = numpy.empty((cells, cells, channels), numpy.uint8)
    for idx in numpy.ndindex(small.shape):
        small[idx] = rng.randrange(256)
    img = Image.fromarray(small if channels == 3 else small[:, :, 0])
    big = numpy.asarray(img.resize((w, h), Image.BILINEAR), numpy.float32)
    big = big.reshape(h, w, channels)
    return big * (2.0 / 255.0) - 1.0


def gradient(rng, h, w, strength):
    """(h, w, 1) multiplicative light ramp around 1 in a random direction."""
    a = rng.uniform(-strength, strength)
    b = rng.uniform(-strength, strength)
    ys = numpy.linspace(-0.5, 0.5, h, dtype=numpy.float32)[:, None, None]
    xs = numpy.linspace(-0.5, 0.5, w, dtype=numpy.float32)[None, :, None]
    return 1.0 + a * xs + b * ys


def textured_background(rng, h, w, colour=None, texture=None):
    """(h, w, 3) float32 0..255: a colour, a light gradient, low-frequency texture
    and fine grain."""
    if colour is None:
        colour = random_colour(rng, saturation=(0.0, 0.7))
    if texture is None:
        texture = rng.uniform(0.0, 40.0)
    bg = numpy.empty((h, w, 3), numpy.float32)
    bg[...] = colour
    bg *= gradient(rng, h, w, 0.5)
    bg += texture * smooth_field(rng, h, w, cells=rng.choice((3, 5, 8)))
    if rng.random() < 0.5:
        bg += rng.uniform(2.0, 10.0) * noise(rng, h, w, 1)
    return bg


def blend(bg, colour, alpha):
    """``bg * (1 - alpha) + colour * alpha`` in place; alpha (h, w) float32 in [0, 1]."""
    a = alpha[:, :, None]
    bg *= 1.0 - a
    bg += a * numpy.asarray(colour, numpy.float32)
    return bg


def finish(rng, img, blur_max=1.2, noise_max=8.0):
    """Blur, then sensor noise, then clipping: float (h, w, 3) 0..255 -> uint8."""
    h, w = img.shape[:2]
    out = numpy.clip(img, 0, 255).astype(numpy.uint8)
    if blur_max > 0 and rng.random() < 0.7:
        r = rng.uniform(0.2, blur_max)
        out = numpy.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(r)))
    if noise_max > 0 and rng.random() < 0.8:
        noisy = out.astype(numpy.float32)
        noisy += rng.uniform(1.0, noise_max) * noise(rng, h, w, 3)
        out = numpy.clip(noisy, 0, 255).astype(numpy.uint8)
    return out

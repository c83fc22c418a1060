"""Annotated images: boxes in a distinct colour per region with the word read near each.

    img = draw_boxes(image, boxes, texts, views=1)       # -> PIL RGB image
    img.save('annotated.png')

``image`` is a PIL image of any mode, a float array ``(3, H, W)`` in ``[0, 1]`` (the
datasets' format) or a uint8 array ``(H, W, 3)``; ``boxes`` are in its pixels (pixel-centre
convention, see ``chainer_see.data.boxes``).  Small images are scaled up (shorter side to
``min_side``) so that the words stay readable, large ones down (longer side to
``max_side``); boxes are scaled with them.  Text uses DejaVu Sans from matplotlib.
"""
import functools
import math
import os

import numpy
from PIL import Image, ImageDraw, ImageFont

#: region colours (RGB), used in turn: region ``n`` gets ``PALETTE[n % len(PALETTE)]``
PALETTE = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
)
TRUE_BOX_COLOUR = (255, 255, 255)
MARGIN_COLOUR = (150, 150, 150)


@functools.lru_cache(maxsize=64)
def font(size, bold=False):
    """DejaVu Sans (matplotlib's copy) at ``size`` px; PIL's default font if missing."""
    from chainer_see.data import render
    name = 'DejaVuSans-Bold.ttf' if bold else 'DejaVuSans.ttf'
    path = os.path.join(render.font_dir(), name)
    try:
        return ImageFont.truetype(path, int(size))
    except OSError:
        return ImageFont.load_default(size=int(size))


def to_pil(image):
    """PIL image (any mode), float ``(3, H, W)`` / ``(H, W)`` in [0, 1] or uint8
    ``(H, W, 3)`` / ``(H, W)`` -> a new RGB PIL image."""
    if isinstance(image, Image.Image):
        if image.mode == 'RGB':
            return image.copy()
        from chainer_see.data.image import pil_to_array
        image = pil_to_array(image)
    a = numpy.asarray(image)
    if a.ndim == 3 and a.dtype.kind == 'f':     # float arrays are (C, H, W), the datasets'
        a = a.transpose(1, 2, 0)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 1:
        a = numpy.repeat(a, 3, axis=2)
    if a.dtype.kind == 'f':
        a = numpy.clip(numpy.rint(a * 255.0), 0, 255).astype(numpy.uint8)
    return Image.fromarray(numpy.ascontiguousarray(a.astype(numpy.uint8)), 'RGB')


def drawing_scale(width, height, min_side=256, max_side=2048):
    """Scale factor that brings the shorter side to ``min_side`` (never shrinking for
    that) while keeping the longer side at most ``max_side``."""
    s = max(1.0, float(min_side) / min(width, height))
    return min(s, float(max_side) / max(width, height))


def _text_colour(rgb):
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (0, 0, 0) if lum > 140 else (255, 255, 255)


def _dashed_rect(draw, xy, fill, width, dash):
    x0, y0, x1, y1 = xy
    for a, b, fixed, horizontal in ((x0, x1, y0, True), (x0, x1, y1, True),
                                    (y0, y1, x0, False), (y0, y1, x1, False)):
        t = a
        while t < b:
            e = min(t + dash, b)
            if horizontal:
                draw.line([(t, fixed), (e, fixed)], fill=fill, width=width)
            else:
                draw.line([(fixed, t), (fixed, e)], fill=fill, width=width)
            t += 2 * dash


def draw_boxes(image, boxes, texts=None, views=1, true_boxes=None, caption=None,
               min_side=256, max_side=2048, show_empty=True, margin=0.5):
    """Draw predicted ``boxes`` and their words on ``image``; returns a new RGB PIL image.

    Args:
        image: PIL image, float ``(3, H, W)`` in [0, 1] or uint8 ``(H, W, 3)``.
        boxes: ``(N * views, 4)`` boxes in pixels of ``image``, region-major (index
            ``n * views + v``); region ``n`` is drawn in ``PALETTE[n]``.
        texts: ``N`` strings, the word of each region (``''`` = empty slot), drawn as
            ``"n: word"`` (1-based) at the top-left of every box of the region; ``None``
            draws the numbers only.
        views: views per region (FSNS: 4).
        true_boxes: optional ``(K, 4)`` ground-truth boxes, drawn as thin dashed white
            lines with a dark edge.
        caption: optional text (``str``, lines separated by ``\\n``) in a white band
            below the image.
        min_side, max_side: drawing size limits (see :func:`drawing_scale`).
        show_empty: also draw the boxes of empty slots (thin, dashed, ``"n: -"``).
        margin: boxes that reach out of the image widen the drawing by a grey margin
            so that they show whole, by at most this share of the image's width or
            height on each side (0 = never; parts beyond are cut off).
    """
    img = to_pil(image)
    W, H = img.size
    s = drawing_scale(W, H, min_side, max_side)
    if s != 1.0:
        size = (max(1, int(round(W * s))), max(1, int(round(H * s))))
        img = img.resize(size, Image.BICUBIC if s > 1 else Image.LANCZOS)
    Ws, Hs = img.size
    sx, sy = Ws / float(W), Hs / float(H)
    short = min(Ws, Hs)
    lw = max(2, int(round(short / 128.0)))
    fsize = int(min(max(round(short / 14.0), 12), 40))
    f = font(fsize, bold=True)
    boxes = numpy.asarray(boxes, numpy.float64).reshape(-1, 4)
    tboxes = None
    if true_boxes is not None:
        tboxes = numpy.asarray(true_boxes, numpy.float64).reshape(-1, 4)

    # boxes reaching out of the image (common for young models) get a grey margin
    every = boxes if tboxes is None else numpy.concatenate([boxes, tboxes])
    img, ox, oy = _with_margin(img, every, sx, sy, lw, margin)
    draw = ImageDraw.Draw(img)

    def scaled(b):   # pixel-centre coordinates -> edge coordinates of the drawing
        return [(b[0] + 0.5) * sx + ox, (b[1] + 0.5) * sy + oy,
                (b[2] + 0.5) * sx + ox, (b[3] + 0.5) * sy + oy]

    if tboxes is not None:
        _draw_true_boxes(draw, [scaled(b) for b in tboxes], lw)
    labels = _draw_regions(draw, [scaled(b) for b in boxes], texts, views, show_empty, lw)
    # labels after all boxes, so that no box line crosses a word
    _draw_labels(draw, labels, f, img.size)
    if caption:
        img = _add_caption(img, caption, font(max(12, int(fsize * 0.8))))
    return img


def _with_margin(img, every, sx, sy, lw, margin):
    """``(image, ox, oy)``: ``img`` on a grey canvas wide enough for the boxes ``every``
    (pixel-centre coordinates of the source, scaled by ``sx``, ``sy``), by at most
    ``margin`` of its width or height per side; ``ox``, ``oy``: where ``img`` lies on it."""
    Ws, Hs = img.size
    if margin > 0 and len(every):
        e = (every + 0.5) * [sx, sy, sx, sy]
        need = [-e[:, [0, 2]].min(), -e[:, [1, 3]].min(),
                e[:, [0, 2]].max() - Ws, e[:, [1, 3]].max() - Hs]
        caps = [margin * Ws, margin * Hs] * 2
        pad = [int(math.ceil(min(n + lw + 1, c))) if n > 0 else 0 for n, c in zip(need, caps)]
        if any(pad):
            canvas = Image.new('RGB', (Ws + pad[0] + pad[2], Hs + pad[1] + pad[3]),
                               MARGIN_COLOUR)
            canvas.paste(img, (pad[0], pad[1]))
            return canvas, pad[0], pad[1]
    return img, 0, 0


def _draw_true_boxes(draw, edges, lw):
    """True boxes (edge coordinates of the drawing): dashed white with a dark edge."""
    for x0, y0, x1, y1 in edges:
        draw.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], outline=(0, 0, 0), width=1)
        _dashed_rect(draw, (x0, y0, x1, y1), TRUE_BOX_COLOUR, max(1, lw // 2), 3 * lw)


def _draw_regions(draw, edges, texts, views, show_empty, lw):
    """The predicted boxes (edge coordinates, region-major) in their region's colour;
    returns their labels ``(text, colour, x, top, bottom)`` for :func:`_draw_labels`."""
    labels = []
    for r, b in enumerate(edges):
        n = r // views
        colour = PALETTE[n % len(PALETTE)]
        word = None if texts is None else texts[n]
        empty = word == ''
        if empty and not show_empty:
            continue
        x0, y0, x1, y1 = b
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        if empty:
            _dashed_rect(draw, (x0, y0, x1, y1), colour, max(1, lw // 2), 2 * lw)
        else:
            draw.rectangle([x0 - lw, y0 - lw, x1 + lw, y1 + lw], outline=(0, 0, 0), width=1)
            draw.rectangle([x0 - lw + 1, y0 - lw + 1, x1 + lw - 1, y1 + lw - 1],
                           outline=colour, width=lw)
        text = '%d' % (n + 1) if word is None else '%d: %s' % (n + 1, word if word else '-')
        labels.append((text, colour, x0 - lw, y0 - lw, y1 + lw))
    return labels


def _draw_labels(draw, labels, f, size):
    """Each label on its colour above its box (below when no room, inside the drawing of
    ``size``); a label that would cover an earlier one (regions with the same box)
    moves down below it."""
    Wc, Hc = size
    placed = []
    for text, colour, x, top, bottom in labels:
        l, t, r, btm = draw.textbbox((0, 0), text, font=f)
        tw, th = r - l + 4, btm - t + 4
        y = top - th if top - th >= 0 else (bottom if bottom + th <= Hc else max(top, 0))
        x = min(max(x, 0), max(Wc - tw, 0))
        for _ in range(len(placed)):
            hit = [p for p in placed if x < p[2] and p[0] < x + tw and y < p[3] and p[1] < y + th]
            if not hit:
                break
            y = max(p[3] for p in hit)
        placed.append((x, y, x + tw, y + th))
        draw.rectangle([x, y, x + tw - 1, y + th - 1], fill=colour)
        draw.text((x + 2 - l, y + 2 - t), text, font=f, fill=_text_colour(colour))


def _add_caption(img, caption, f):
    lines = caption.split('\n')
    probe = ImageDraw.Draw(img)
    heights, widths = [], []
    for line in lines:
        l, t, r, b = probe.textbbox((0, 0), line or ' ', font=f)
        widths.append(r - l)
        heights.append(b - t)
    pad = 4
    line_h = max(heights) + pad
    W = max(img.size[0], max(widths) + 2 * pad)
    out = Image.new('RGB', (W, img.size[1] + line_h * len(lines) + pad), (255, 255, 255))
    out.paste(img, (0, 0))
    d = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        l, t, _, _ = d.textbbox((0, 0), line or ' ', font=f)
        d.text((pad - l, img.size[1] + pad + i * line_h - t), line, font=f, fill=(0, 0, 0))
    return out


# The training pictures (``BBoxPlotter``, the VisualBackprop panel) draw with these: an
# integer enlargement, the predicted regions as quadrilaterals, their own palette.

#: region colours of the training pictures: region ``n`` gets ``PLOT_PALETTE[n % 8]``
PLOT_PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                (148, 103, 189), (140, 86, 75), (227, 119, 194), (23, 190, 207))
PLOT_BACKGROUND = (255, 255, 255)
#: pixels between the panels of a training picture
PLOT_GAP = 8


def to_uint8(image):
    """``(3, H, W)`` float in [0, 1] -> PIL RGB image."""
    a = numpy.asarray(image, dtype=numpy.float32).transpose(1, 2, 0)
    return Image.fromarray((a.clip(0, 1) * 255).round().astype(numpy.uint8))


def display_scale(image_hw, target=180):
    """Integer enlargement that brings the image height near ``target`` pixels."""
    return max(1, int(round(target / float(image_hw[0]))))


def draw_quads(draw, corners, colors, scale, width):
    """Closed quadrilaterals ``corners (R, 4, 2)`` (pixel centres of the image) on a
    ``PIL.ImageDraw`` of the image enlarged ``scale`` times, one colour each."""
    for quad, color in zip(corners, colors):
        pts = [(float(x) * scale + scale / 2.0, float(y) * scale + scale / 2.0) for x, y in quad]
        draw.line(pts + [pts[0]], fill=color, width=width)

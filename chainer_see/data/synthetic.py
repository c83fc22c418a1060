"""Synthetic SVHN-like and FSNS-like data, generated on the fly, deterministic per seed.

Kinds (native image size, word slots N x characters T):

- ``svhn-crops`` (64x64, 1 x 5): one house number of 1-5 digits, cropped by the
  Table 1 protocol: the number's box enlarged 30 % on every side fills the crop, so
  the number sits in the middle ~62 % (with a few pixels of jitter); neighbouring
  distractor digits may show, cut, at the left/right edges as in real SVHN crops.
- ``svhn-grid`` (200x200, ``max_numbers`` x 5): such crops (56-96 px) in
  ``min_numbers``-``max_numbers`` (default 4) of the four cells of a 2x2 grid.
- ``svhn-grid128`` (128x128, ``max_numbers`` x 5): the same with 64x64 crops filling
  their cells: the grid at the crops' reading scale (an analogue of ``svhn-grid`` that
  fits 2 CPU cores).
- ``svhn-zoom128`` (128x128, 1 x 5): one such crop of ``min_side``-``max_side`` pixels
  (default 64-128) at a uniformly random place: the steps between the crops (side 128)
  and one number in a cell of ``svhn-grid128`` (side 64), where the localization must
  learn to shrink and follow the number.
- ``svhn-random`` (200x200, ``max_numbers`` x 5): ``min_numbers``-``max_numbers``
  crops (48-96 px) at random non-overlapping places (the paper's Fig. 5).
- ``svhn-random128`` (128x128, ``max_numbers`` x 5): the same scaled to the 128x128
  canvas of ``svhn-grid128`` (crops of 40-64 px; 200x200's 48-96 px times 0.64 is
  31-61): the analogue of ``svhn-random`` that fits 2 CPU cores.
- ``fsns-like`` (150x600, ``max_words`` x 21): four 150x150 views of one street-name
  sign of ``min_words``-``max_words`` French words (see ``fsns_like``).

House numbers use the DejaVu fonts (12 faces x 2 stroke weights), random colours
with a minimum luminance contrast, textured/gradient walls and plates, shadows, small
rotations and shears, blur and noise.

Sample ``i`` depends only on ``(kind, seed, i)`` and the dataset's options, never on
the order of access, so multiprocess iterators and resumed runs see the same data.
"""
import collections
import random

import chainer
import numpy
from PIL import Image

from chainer_see.data import compose, fsns_like, render
from chainer_see.data.boxes import ink_box, rescale_boxes
from chainer_see.data.reading_order import sort_in_reading_order
from chainer_see.data.sample import Sample

KINDS = ('svhn-crops', 'svhn-grid', 'svhn-grid128', 'svhn-zoom128', 'svhn-random',
         'svhn-random128', 'fsns-like')
#: grid kinds: (canvas side, smallest and largest crop side); 2x2 cells
GRIDS = {'svhn-grid': (200, 56, 96), 'svhn-grid128': (128, 64, 64)}
#: numbers per image by default (min, max)
#: random kinds: crop sides (lo, hi) at random non-overlapping places
RANDOMS = {'svhn-random': (48, 96), 'svhn-random128': (40, 64)}
DEFAULT_NUMBERS = {'svhn-random': (1, 4), 'svhn-random128': (1, 4), 'svhn-grid': (4, 4),
                   'svhn-grid128': (4, 4)}


def random_digits(rng, min_digits, max_digits):
    """A house number of ``min_digits``-``max_digits`` digits (rarely a leading 0)."""
    k = rng.randint(min_digits, max_digits)
    first = '123456789' if rng.random() < 0.9 or k == 1 else '0123456789'
    return rng.choice(first) + ''.join(rng.choice('0123456789') for _ in range(k - 1))


def _place_mask(canvas, mask, x, y):
    """``numpy.maximum`` of ``mask`` into ``canvas`` with its top-left at (x, y), clipped."""
    H, W = canvas.shape
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, W), min(y + h, H)
    if x1 > x0 and y1 > y0:
        sub = mask[y0 - y:y1 - y, x0 - x:x1 - x]
        numpy.maximum(canvas[y0:y1, x0:x1], sub, out=canvas[y0:y1, x0:x1])


def render_svhn_crop(rng, hw, digits, with_mask=False):
    """One house-number crop of size ``hw`` by the Table 1 protocol.

    Returns ``(image uint8 (H, W, 3), box float32 (4,), ink mask (H, W) or None)``.
    """
    H, W = hw
    gs = rng.choice(render.glyph_sets())
    num = gs.number(digits, rng.uniform(0.03, 0.25))
    # The number's box is the crop shrunk by 1.6 (30 % added on every side), jittered.
    bw = W / 1.6 * rng.uniform(0.86, 1.06)
    bh = H / 1.6 * rng.uniform(0.86, 1.06)
    cx = W / 2.0 + rng.uniform(-0.04, 0.04) * W
    cy = H / 2.0 + rng.uniform(-0.04, 0.04) * H
    sw, sh = max(int(round(bw)), 1), max(int(round(bh)), 1)
    small = Image.fromarray(num).resize((sw, sh), Image.BILINEAR)
    angle = numpy.deg2rad(rng.uniform(-6.0, 6.0)) if rng.random() < 0.7 else 0.0
    shear = rng.uniform(-0.15, 0.15) if rng.random() < 0.4 else 0.0
    ca, sa = numpy.cos(angle), numpy.sin(angle)
    # Output pixel (x, y) -> input (u, v): u = ca*dx + sa*dy + shear*(...) about the centres.
    a, b = ca, sa + shear
    d, e = -sa, ca
    c = sw / 2.0 - a * cx - b * cy
    f = sh / 2.0 - d * cx - e * cy
    mask_img = small.transform((W, H), Image.AFFINE, (a, b, c, d, e, f), Image.BILINEAR)
    mask = numpy.asarray(mask_img, numpy.float32) * (1.0 / 255.0)
    box = ink_box(mask, 0.5)
    if box is None:  # cannot happen for sane sizes; keep the label/box contract anyway
        box = numpy.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], numpy.float32)

    wall_colour, text_colour = render.contrasting_colours(rng)
    plate = rng.random() < 0.55
    if plate:
        img = render.textured_background(rng, H, W)
        mx = rng.uniform(0.08, 0.5) * bh
        my = rng.uniform(0.08, 0.35) * bh
        x0, x1 = int(box[0] - mx), int(box[2] + mx + 1)
        y0, y1 = int(box[1] - my), int(box[3] + my + 1)
        if rng.random() < 0.5:  # a border around the plate
            bc = render.random_colour(rng)
            img[max(y0 - 2, 0):max(y1 + 2, 0), max(x0 - 2, 0):max(x1 + 2, 0)] = bc
        region = img[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]
        region[...] = wall_colour
        region *= render.gradient(rng, region.shape[0], region.shape[1], 0.3)
    else:
        img = render.textured_background(rng, H, W, colour=wall_colour,
                                         texture=rng.uniform(0.0, 25.0))

    # Distractors: other digits cut by the left/right edge of the crop.
    extra = numpy.zeros((H, W), numpy.float32)
    digit_w = bw / len(digits)
    for side in (-1, 1):
        if rng.random() < 0.25:
            dm = gs.masks[rng.choice('0123456789')]
            scale_x = bw / num.shape[1]
            dw = max(int(round(dm.shape[1] * scale_x)), 1)
            dmask = numpy.asarray(Image.fromarray(dm).resize((dw, sh), Image.BILINEAR),
                                  numpy.float32) * (1.0 / 255.0)
            gap = rng.uniform(0.8, 1.3) * digit_w
            visible = rng.uniform(0.15, 0.45) * dw  # at most ~half a digit shows
            if side > 0:
                x = int(max(box[2] + gap, W - visible))
            else:
                x = int(min(box[0] - gap, visible) - dw)
            y = int(cy - sh / 2.0 + rng.uniform(-0.1, 0.1) * sh)
            _place_mask(extra, dmask, x, y)

    if rng.random() < 0.3:  # drop shadow
        dx, dy = rng.choice((-2, -1, 1, 2)), rng.choice((-2, -1, 1, 2))
        shadow = numpy.roll(numpy.roll(numpy.maximum(mask, extra), dy, axis=0), dx, axis=1)
        render.blend(img, [0.3 * v for v in wall_colour], shadow * rng.uniform(0.4, 0.9))
    render.blend(img, text_colour, numpy.maximum(mask, extra))
    img *= render.gradient(rng, H, W, 0.6) * rng.uniform(0.75, 1.15)
    scale = H / 64.0
    out = render.finish(rng, img, blur_max=1.1 * scale, noise_max=9.0)
    return out, box, (mask if with_mask else None)


def _canvas_background(rng, H, W):
    if rng.random() < 0.5:
        bg = numpy.zeros((H, W, 3), numpy.float32)
        bg += rng.uniform(0.0, 6.0) * render.noise(rng, H, W, 1)
        return bg
    return render.textured_background(rng, H, W, colour=render.random_colour(rng, (0.0, 0.6)))


def render_svhn_composite(rng, placements, min_digits, max_digits, canvas_hw, with_mask=False):
    """Crops rendered at each placement on a black or textured canvas."""
    H, W = canvas_hw
    canvas = numpy.clip(_canvas_background(rng, H, W), 0, 255).astype(numpy.uint8)
    words, boxes, masks = [], [], []
    for p in placements:
        digits = random_digits(rng, min_digits, max_digits)
        crop, box, mask = render_svhn_crop(rng, (p[3], p[2]), digits, with_mask)
        compose.paste(canvas, crop, p)
        words.append(digits)
        boxes.append(box + numpy.array([p[0], p[1], p[0], p[1]], numpy.float32))
        if with_mask:
            full = numpy.zeros((H, W), numpy.float32)
            full[p[1]:p[1] + p[3], p[0]:p[0] + p[2]] = mask
            masks.append(full)
    order_boxes, words, idx = sort_in_reading_order(numpy.stack(boxes), words,
                                                    list(range(len(words))))
    masks = [masks[k] for k in idx] if with_mask else None
    return canvas, words, order_boxes, masks


class SyntheticDataset(chainer.dataset.DatasetMixin):
    """Synthetic examples ``(image float32 (3, H, W) in [0, 1], labels int32 (N, T))``.

    Args:
        kind (str): one of :data:`KINDS`.
        length (int): number of examples (sample ``i`` for ``0 <= i < length``).
        seed (int): seed of the whole dataset.
        image_size (tuple or None): ``(H, W)`` to resize to; ``None`` keeps the native
            size (64x64, 200x200, or 150x600).
        char_map: :class:`CharMap` or name; default ``'svhn'`` for the svhn kinds and
            ``'fsns'`` for fsns-like.
        num_words (int or None): N, at least what the kind needs (default exactly that).
        max_chars (int or None): T, at least ``max_digits`` / the longest word
            (default 5 for digits, 21 for fsns-like).
        min_digits, max_digits: digits per house number (1..5).
        min_numbers, max_numbers: numbers per image for the random kinds (default 1..4)
            and filled cells of the grid kinds (default 4); N = ``max_numbers``, so a
            curriculum can go 1 -> 2 -> 3 -> 4.
        min_words, max_words: words per sign for ``fsns-like`` (1..4; N = max_words).
        min_side, max_side: crop side of ``svhn-zoom128`` (in 8..128).

    Attributes: ``num_words``, ``max_chars``, ``char_map``, ``image_size``,
    ``native_size``, ``num_views`` (4 for fsns-like, else 1).
    """

    def __init__(self, kind, length, seed=0, image_size=None, char_map=None, num_words=None,
                 max_chars=None, min_digits=1, max_digits=5, min_numbers=None,
                 max_numbers=None, min_words=1, max_words=4, min_side=64, max_side=128):
        from chainer_see.data.datasets import as_char_map
        if kind not in KINDS:
            raise ValueError('unknown synthetic kind %r (choose from %s)' % (kind, ', '.join(KINDS)))
        if not 1 <= min_digits <= max_digits:
            raise ValueError('need 1 <= min_digits <= max_digits')
        lo, hi = DEFAULT_NUMBERS.get(kind, (1, 4))
        min_numbers = lo if min_numbers is None else min_numbers
        max_numbers = hi if max_numbers is None else max_numbers
        if kind in DEFAULT_NUMBERS and not 1 <= min_numbers <= max_numbers <= 4:
            raise ValueError('need 1 <= min_numbers <= max_numbers <= 4 (a 2x2 grid, or a '
                             '200x200 image without overlap, holds at most four numbers)')
        if kind == 'svhn-zoom128' and not 8 <= min_side <= max_side <= 128:
            raise ValueError('need 8 <= min_side <= max_side <= 128, got %r and %r'
                             % (min_side, max_side))
        self.min_side, self.max_side = min_side, max_side
        if kind == 'fsns-like' and not 1 <= min_words <= max_words:
            raise ValueError('need 1 <= min_words <= max_words')
        self.kind = kind
        self.length = int(length)
        self.seed = int(seed)
        self.min_digits, self.max_digits = min_digits, max_digits
        self.min_numbers, self.max_numbers = min_numbers, max_numbers
        self.min_words, self.max_words = min_words, max_words
        fsns = kind == 'fsns-like'
        self.char_map = as_char_map(char_map or ('fsns' if fsns else 'svhn'))
        need_n = max_words if fsns else (max_numbers if kind in DEFAULT_NUMBERS else 1)
        self.num_words = need_n if num_words is None else int(num_words)
        if self.num_words < need_n:
            raise ValueError('num_words %d is less than the %d words of %s'
                             % (self.num_words, need_n, kind))
        default_t = 21 if fsns else max(5, max_digits)
        self.max_chars = default_t if max_chars is None else int(max_chars)
        if self.max_chars < (2 if fsns else max_digits):
            raise ValueError('max_chars %d is too small for %s' % (self.max_chars, kind))
        self.native_size = {'svhn-crops': (64, 64), 'svhn-grid': (200, 200),
                            'svhn-grid128': (128, 128), 'svhn-zoom128': (128, 128),
                            'svhn-random': (200, 200), 'svhn-random128': (128, 128),
                            'fsns-like': (150, 600)}[kind]
        self.image_size = tuple(image_size) if image_size is not None else self.native_size
        self.num_views = 4 if fsns else 1
        self._cache = collections.OrderedDict()

    def __len__(self):
        return self.length

    def _rng(self, i):
        # String seeds are hashed with SHA-512 by ``random``: stable across runs/platforms.
        return random.Random('%s:%d:%d' % (self.kind, self.seed, i))

    def render(self, i, with_masks=False):
        """:class:`Sample` ``i`` at native size."""
        if not 0 <= i < self.length:
            raise IndexError('index %d out of range for %d examples' % (i, self.length))
        if not with_masks and i in self._cache:
            return self._cache[i]
        rng = self._rng(i)
        if self.kind == 'svhn-crops':
            digits = random_digits(rng, self.min_digits, self.max_digits)
            img, box, mask = render_svhn_crop(rng, self.native_size, digits, with_masks)
            s = Sample(img, [digits], box[None], [mask] if with_masks else None)
        elif self.kind in GRIDS:
            _, lo, hi = GRIDS[self.kind]
            places = compose.grid_layout(rng, self.native_size, 2, 2, lo, hi)
            if self.min_numbers < 4:   # which cells hold a number (no draw for a full grid)
                n = rng.randint(self.min_numbers, self.max_numbers)
                places = [places[k] for k in sorted(rng.sample(range(4), n))]
            s = Sample(*render_svhn_composite(rng, places, self.min_digits, self.max_digits,
                                              self.native_size, with_masks))
        elif self.kind == 'svhn-zoom128':
            side = rng.randint(self.min_side, self.max_side)
            H, W = self.native_size
            place = (rng.randint(0, W - side), rng.randint(0, H - side), side, side)
            s = Sample(*render_svhn_composite(rng, [place], self.min_digits, self.max_digits,
                                              self.native_size, with_masks))
        elif self.kind in RANDOMS:
            n = rng.randint(self.min_numbers, self.max_numbers)
            places = compose.random_layout(rng, n, self.native_size, *RANDOMS[self.kind])
            s = Sample(*render_svhn_composite(rng, places, self.min_digits, self.max_digits,
                                              self.native_size, with_masks))
        else:
            s = fsns_like.render_sign_views(rng, self.min_words, self.max_words,
                                            min(self.max_chars, 21), with_masks)
        if not with_masks:
            self._cache[i] = s
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return s

    def labels_of(self, words):
        out = numpy.zeros((self.num_words, self.max_chars), numpy.int32)
        for k, w in enumerate(words):
            out[k, :len(w)] = self.char_map.encode(w)
        return out

    def get_example(self, i):
        s = self.render(i)
        img = s.image
        if self.image_size != self.native_size:
            img = numpy.asarray(Image.fromarray(img).resize(
                (self.image_size[1], self.image_size[0]), Image.BILINEAR))
        x = img.transpose(2, 0, 1).astype(numpy.float32) * numpy.float32(1.0 / 255.0)
        return x, self.labels_of(s.words)

    def words(self, i):
        return list(self.render(i).words)

    def true_boxes(self, i):
        """float32 ``(n_words * num_views, 4)`` in pixels of the returned image."""
        return rescale_boxes(self.render(i).boxes, self.native_size, self.image_size)


def write_dataset(dataset, out, gt_format='words', overwrite=False, show_progress=None,
                  options=None):
    """Render every sample of ``dataset`` to disk, atomically.

    Writes ``images/NNNNNN.png`` (at ``dataset.image_size``), ``gt.tsv`` (published
    format; ``gt.txt`` for ``gt_format='readable'``), ``gt.boxes.json`` (true boxes, pixels
    of the written images) and ``dataset.json`` (kind, seed, count and ``options``).
    """
    import json
    import os

    from chainer_see.data.ground_truth import write_boxes, write_ground_truth
    from chainer_see.data.output import atomic_output_dir
    from chainer_see.progress import progress

    H, W = dataset.image_size
    rows, boxes = [], []
    ext = '.txt' if gt_format == 'readable' else '.tsv'
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        os.makedirs(os.path.join(tmp, 'images'))
        for i in progress(range(len(dataset)), desc=dataset.kind, enabled=show_progress,
                          unit='img'):
            s = dataset.render(i)
            img = Image.fromarray(s.image)
            if (H, W) != dataset.native_size:
                img = img.resize((W, H), Image.BILINEAR)
            rel = 'images/%06d.png' % i
            img.save(os.path.join(tmp, rel))
            rows.append((rel, s.words))
            boxes.append((rel, (W, H), rescale_boxes(s.boxes, dataset.native_size, (H, W))))
        write_ground_truth(os.path.join(tmp, 'gt' + ext), rows, dataset.num_words,
                           dataset.max_chars, dataset.char_map, gt_format)
        write_boxes(os.path.join(tmp, 'gt.boxes.json'), boxes, views=dataset.num_views)
        meta = {'kind': dataset.kind, 'seed': dataset.seed, 'count': len(dataset),
                'image_size': [H, W], 'num_words': dataset.num_words,
                'max_chars': dataset.max_chars, 'views': dataset.num_views,
                'options': options or {}}
        with open(os.path.join(tmp, 'dataset.json'), 'w') as f:
            json.dump(meta, f, indent=1)
    return len(rows)

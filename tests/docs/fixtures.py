"""Files in the real formats for the documented commands: SVHN "format 1" folders,
FSNS TFRecord shards, a user's own ground truth in every layout the project reads.

Images look like text: digits and words drawn with the DejaVu fonts matplotlib ships
(as ``chainer_see.data.render`` does), some printed (clean glyphs, even spacing), some
handwritten-like (each character scaled, rotated, sheared and shifted on its own,
strokes of varying width, a wavy baseline).  Sizes vary as they do in real data.

Nothing here knows how the project reads these files: the builders only follow the
formats (``/work/shared/specs/formats.md``, the ``ground_truth`` docstring).
"""
import functools
import json
import os

import numpy
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.data import helpers

FONTS = ('DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf', 'DejaVuSansMono.ttf',
         'DejaVuSans-Oblique.ttf', 'DejaVuSerif-Bold.ttf')

#: the char maps of the project, read here straight from the JSON files
CHAR_MAP_DIR = os.path.join(helpers.ROOT, 'datasets', 'char_maps')


@functools.lru_cache(maxsize=None)
def char_map_json(name):
    """``{class id: character}`` of ``datasets/char_maps/NAME_char_map.json``."""
    with open(os.path.join(CHAR_MAP_DIR, '%s_char_map.json' % name)) as f:
        return {int(k): chr(v) for k, v in json.load(f).items()}


def class_ids(text, name):
    """Characters -> class ids of char map ``name`` (independent of the project's code)."""
    inverse = {c: i for i, c in char_map_json(name).items()}
    return [inverse[c] for c in text]


@functools.lru_cache(maxsize=64)
def font(index, size):
    import matplotlib
    path = os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf', FONTS[index % len(FONTS)])
    return ImageFont.truetype(path, max(6, int(size)))


def _glyph(char, fnt):
    """uint8 mask of one character, cropped to its ink, and its baseline offset."""
    x0, y0, x1, y1 = fnt.getbbox(char)
    img = Image.new('L', (max(1, x1 - x0) + 8, max(1, y1 - y0) + 8), 0)
    ImageDraw.Draw(img).text((4 - x0, 4 - y0), char, fill=255, font=fnt)
    a = numpy.asarray(img)
    rows, cols = numpy.flatnonzero(a.max(1)), numpy.flatnonzero(a.max(0))
    if len(rows) == 0:
        return numpy.zeros((1, 1), numpy.uint8), 0
    top = rows[0] - 4 + y0          # ink top relative to the font's ascender line
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], top


def text_mask(text, height, style, rng, font_index=0):
    """Ink of ``text`` as a uint8 mask and the ink box of every non-space character.

    Args:
        text (str): what to write (spaces make gaps).
        height (int): font size in pixels.
        style (str): ``'printed'`` or ``'handwritten'``.
        rng (numpy.random.RandomState): the jitter of the handwritten style.

    Returns:
        ``(mask (H, W) uint8, [(x0, y0, x1, y1)] inclusive pixel boxes per character)``.
    """
    hand = style == 'handwritten'
    fnt = font(font_index, height)
    pieces, x, pad = [], 0, height // 2
    for c in text:
        if c == ' ':
            x += int(height * (0.35 + (rng.uniform(0, 0.3) if hand else 0)))
            continue
        if hand:
            f = font(font_index, height * rng.uniform(0.8, 1.25))
            g, top = _glyph(c, f)
            img = Image.fromarray(g)
            w, h = img.size
            shear = rng.uniform(-0.3, 0.3)
            img = img.transform((w + int(abs(shear) * h) + 2, h), Image.AFFINE,
                                (1, shear, -max(0, shear) * h, 0, 1, 0), Image.BILINEAR)
            img = img.rotate(rng.uniform(-12, 12), Image.BILINEAR, expand=True)
            if height >= 24 and rng.uniform() < 0.5:     # a thicker pen
                img = img.filter(ImageFilter.MaxFilter(3))
            g = numpy.asarray(img)
            top += int(rng.uniform(-0.12, 0.12) * height)
            step = int(rng.uniform(0.0, 0.15) * height)
        else:
            g, top = _glyph(c, fnt)
            step = max(1, height // 12)
        pieces.append((x, top, g))
        x += g.shape[1] + step
    if not pieces:
        raise ValueError('nothing to draw in %r' % text)
    y_min = min(t for _, t, _ in pieces)
    y_max = max(t + g.shape[0] for _, t, g in pieces)
    width = max(px + g.shape[1] for px, _, g in pieces)
    mask = numpy.zeros((y_max - y_min + 2 * pad, width + 2 * pad), numpy.uint8)
    boxes = []
    for px, top, g in pieces:
        y, xx = top - y_min + pad, px + pad
        region = mask[y:y + g.shape[0], xx:xx + g.shape[1]]
        numpy.maximum(region, g, out=region)
        ys, xs = numpy.nonzero(g > 64)
        if len(xs) == 0:
            ys, xs = numpy.nonzero(g)
        boxes.append((xx + xs.min(), y + ys.min(), xx + xs.max(), y + ys.max()))
    if hand:   # a wavy baseline: shift the columns up and down a little
        shift = (numpy.sin(numpy.arange(mask.shape[1]) / rng.uniform(8, 20) + rng.uniform(0, 6))
                 * rng.uniform(0, 0.06) * height).astype(int)
        mask = numpy.stack([numpy.roll(mask[:, j], shift[j]) for j in range(mask.shape[1])], 1)
        boxes = [(x0, y0 + shift[x0:x1 + 1].min(), x1, y1 + shift[x0:x1 + 1].max())
                 for x0, y0, x1, y1 in boxes]
    return mask, boxes


def background(height, width, rng, kind=None):
    """uint8 RGB: a wall (gradient, noise, brick lines), paper or a plain colour."""
    kind = kind or rng.choice(['wall', 'paper', 'plain'])
    base = rng.randint(40, 230, size=3).astype(numpy.float32)
    if kind == 'paper':
        base = numpy.float32(rng.randint(215, 250)) * numpy.ones(3, numpy.float32)
    yy, xx = numpy.mgrid[0:height, 0:width].astype(numpy.float32)
    grad = (xx / max(width, 1) - 0.5) * rng.uniform(-40, 40) + \
        (yy / max(height, 1) - 0.5) * rng.uniform(-40, 40)
    img = base[None, None, :] + grad[..., None]
    if kind == 'wall':
        period = rng.randint(12, 30)
        img[(yy.astype(int) % period) < 2] *= 0.75
        img += rng.normal(0, 8, img.shape)
    elif kind == 'paper':
        img[(yy.astype(int) % rng.randint(18, 26)) == 0] -= 35    # ruled lines
        img += rng.normal(0, 3, img.shape)
    return numpy.clip(img, 0, 255).astype(numpy.uint8)


def ink_colour(bg, rng):
    """A colour that stands out from the mean of ``bg``."""
    mean = bg.reshape(-1, 3).mean(0)
    if mean.mean() > 128:
        return rng.randint(0, 90, size=3)
    return rng.randint(170, 256, size=3)


def paste(image, mask, x, y, colour):
    """Blend ``colour`` into ``image`` (uint8 RGB) through ``mask`` at ``(x, y)``."""
    h, w = mask.shape
    alpha = mask.astype(numpy.float32)[..., None] / 255.0
    region = image[y:y + h, x:x + w].astype(numpy.float32)
    image[y:y + h, x:x + w] = (region * (1 - alpha) +
                               numpy.asarray(colour, numpy.float32) * alpha).astype(numpy.uint8)


def fit_mask(mask, boxes, max_w, max_h):
    """Shrink ``mask`` (and its boxes) to fit ``max_w`` x ``max_h``."""
    h, w = mask.shape
    s = min(1.0, max_w / float(w), max_h / float(h))
    if s >= 1.0:
        return mask, boxes
    nw, nh = max(1, int(w * s)), max(1, int(h * s))
    small = numpy.asarray(Image.fromarray(mask).resize((nw, nh), Image.BILINEAR))
    boxes = [(int(x0 * s), int(y0 * s), min(nw - 1, int(x1 * s)), min(nh - 1, int(y1 * s)))
             for x0, y0, x1, y1 in boxes]
    return small, boxes


def draw_words(size, words, rng, style, place='line', font_index=None, height=None):
    """An image of ``size`` (W, H) with ``words`` written on it.

    ``place``: ``'line'`` (one line, centred with jitter), ``'anywhere'`` (each word at
    a random free place), ``'grid'`` (word k in cell k of a 2x2 grid).

    Returns ``(image uint8 (H, W, 3), word boxes [(x_min, y_min, x_max, y_max)] in the
    outer-edge pixel convention, char boxes per word (inclusive pixel boxes))``.
    """
    w, h = size
    img = background(h, w, rng)
    fi = rng.randint(len(FONTS)) if font_index is None else font_index
    word_boxes, char_boxes = [], []
    if place == 'line':
        text = ' '.join(words)
        mask, boxes = text_mask(text, height or int(h * rng.uniform(0.45, 0.6)), style, rng, fi)
        mask, boxes = fit_mask(mask, boxes, w, h)
        x = rng.randint(0, w - mask.shape[1] + 1)
        y = rng.randint(0, h - mask.shape[0] + 1)
        paste(img, mask, x, y, ink_colour(img, rng))
        boxes = [(a + x, b + y, c + x, d + y) for a, b, c, d in boxes]
        i = 0
        for word in words:
            cb = boxes[i:i + len(word)]
            i += len(word)
            char_boxes.append(cb)
            word_boxes.append(_union(cb))
        return img, word_boxes, char_boxes
    taken = []
    for k, word in enumerate(words):
        if place == 'grid':
            cw, ch = w // 2, h // 2
            cell = (k % 2 * cw, k // 2 * ch, cw, ch)
        else:
            cell = (0, 0, w, h)
        for attempt in range(200):
            font_size = height or int(rng.uniform(0.12, 0.22) * h)
            mask, boxes = text_mask(word, font_size, style, rng, fi)
            mask, boxes = fit_mask(mask, boxes, cell[2], cell[3])
            x = cell[0] + rng.randint(0, cell[2] - mask.shape[1] + 1)
            y = cell[1] + rng.randint(0, cell[3] - mask.shape[0] + 1)
            ink = _union([(a + x, b + y, c + x, d + y) for a, b, c, d in boxes])
            gap = 0.6 * (ink[3] - ink[1])
            if place == 'grid' or not any(_overlap(ink, t, gap) for t in taken):
                break
        else:
            raise RuntimeError('no room for %r' % word)
        taken.append(ink)
        paste(img, mask, x, y, ink_colour(img, rng))
        char_boxes.append([(a + x, b + y, c + x, d + y) for a, b, c, d in boxes])
        word_boxes.append(ink)
    return img, word_boxes, char_boxes


def _union(boxes):
    """Inclusive pixel boxes -> one outer-edge box ``(x_min, y_min, x_max, y_max)``."""
    b = numpy.asarray(boxes, numpy.float64)
    return (b[:, 0].min() - 0.5, b[:, 1].min() - 0.5, b[:, 2].max() + 0.5, b[:, 3].max() + 0.5)


def _overlap(a, b, margin):
    return not (a[2] + margin < b[0] or b[2] + margin < a[0] or
                a[3] + margin < b[1] or b[3] + margin < a[1])


def reading_order(words, boxes):
    """Top to bottom, then left to right (rows: boxes whose vertical centres are within
    half a box height of each other)."""
    items = sorted(zip(words, boxes), key=lambda wb: (wb[1][1] + wb[1][3]) / 2)
    rows = []
    for item in items:
        cy = (item[1][1] + item[1][3]) / 2
        if rows and abs(cy - rows[-1][0]) < (item[1][3] - item[1][1]) / 2:
            rows[-1][1].append(item)
        else:
            rows.append((cy, [item]))
    out = []
    for _, row in rows:
        out.extend(sorted(row, key=lambda wb: wb[1][0]))
    return [w for w, _ in out], [b for _, b in out]


def save_png(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = Image.fromarray(array)
    if mode:
        img = img.convert(mode)
    img.save(path)


# ---------------------------------------------------------------------------- SVHN
def svhn_split(folder, numbers, seed):
    """An SVHN "format 1" folder: ``1.png`` ... and ``digitStruct.mat`` (HDF5).

    ``numbers``: the house numbers (digit strings).  Photos of varied size, the number
    printed or handwritten-like; boxes per digit as SVHN gives them (left, top, width,
    height of each digit, label 10 for the digit 0).

    Returns ``[(file name, number)]``.
    """
    rng = numpy.random.RandomState(seed)
    os.makedirs(folder, exist_ok=True)
    entries, written = [], []
    for i, number in enumerate(numbers, 1):
        size = (int(rng.randint(60, 140)), int(rng.randint(36, 90)))
        style = 'printed' if i % 3 else 'handwritten'
        img, _, char_boxes = draw_words(size, [number], rng, style, place='line',
                                        height=int(size[1] * rng.uniform(0.4, 0.6)))
        name = '%d.png' % i
        save_png(os.path.join(folder, name), img)
        digits = []
        for c, (x0, y0, x1, y1) in zip(number, char_boxes[0]):
            left, top = max(0, x0 - rng.randint(0, 3)), max(0, y0 - rng.randint(0, 3))
            right = min(size[0] - 1, x1 + rng.randint(0, 3))
            bottom = min(size[1] - 1, y1 + rng.randint(0, 3))
            digits.append((10 if c == '0' else int(c), left, top, right - left + 1,
                           bottom - top + 1))
        entries.append((name, digits))
        written.append((name, number))
    helpers.write_digit_struct(os.path.join(folder, 'digitStruct.mat'), entries)
    return written


SVHN_NUMBERS = {
    # a 6-digit number is in train (the protocol drops it), zeros everywhere (label 10)
    'train': ['7', '25', '108', '3040', '96', '512', '1', '60', '287', '4', '19', '123456'],
    'test': ['3', '42', '905', '17', '6', '210'],
    'extra': ['88', '5', '301', '2', '74', '1009'],
}


def svhn_root(root):
    """``root/{train,test,extra}``: SVHN folders; returns ``{split: [(name, number)]}``."""
    return {split: svhn_split(os.path.join(root, split), numbers, seed)
            for seed, (split, numbers) in enumerate(sorted(SVHN_NUMBERS.items()))}


# ---------------------------------------------------------------------------- FSNS
def sign_views(text, rng):
    """Four 150x150 views of one street-name sign (text on 1-2 lines), side by side.

    Returns ``(image uint8 (150, 600, 3), boxes)``: ``boxes[n][v]`` the outer-edge box of
    word ``n`` in view ``v`` (pixels of the 600-wide image), ``None`` where the word is
    not visible in that view.
    """
    words = text.split(' ')
    cut = len(words) if len(words) <= 2 else len(words) // 2
    lines = [words[:cut], words[cut:]] if cut < len(words) else [words]
    plate_colour = [(30, 60, 150), (245, 245, 240), (20, 100, 60)][rng.randint(3)]
    ink = (250, 250, 250) if sum(plate_colour) < 400 else (20, 20, 30)
    fi = rng.randint(3)
    # the sign once, large (with a map of which word each ink pixel belongs to) ...
    drawn = [text_mask(' '.join(line), 40, 'printed', rng, fi) for line in lines]
    pw = max(m.shape[1] for m, _ in drawn) + 30
    ph = sum(m.shape[0] for m, _ in drawn) + 30
    plate = numpy.zeros((ph, pw, 3), numpy.uint8)
    plate[:] = plate_colour
    plate[:4], plate[-4:], plate[:, :4], plate[:, -4:] = 200, 200, 200, 200
    owner = numpy.zeros((ph, pw), numpy.uint8)
    y, n = 15, 0
    for line, (m, char_boxes) in zip(lines, drawn):
        x = (pw - m.shape[1]) // 2
        paste(plate, m, x, y, ink)
        i = 0
        for word in line:
            n += 1
            for x0, y0, x1, y1 in char_boxes[i:i + len(word)]:
                sub = m[y0:y1 + 1, x0:x1 + 1] > 96
                owner[y + y0:y + y1 + 1, x + x0:x + x1 + 1][sub] = n
            i += len(word)
        y += m.shape[0]
    # ... then four views of it, each from its own angle and distance
    views, boxes = [], [[None] * 4 for _ in words]
    for v in range(4):
        bg = background(150, 150, rng, 'wall')
        scale = rng.uniform(0.75, 0.95) * 150 / max(pw, ph * 1.5)
        w, h = max(8, int(pw * scale)), max(8, int(ph * scale))
        skew = rng.uniform(-0.15, 0.15) * ph
        size = (w, h + int(abs(skew) * scale))
        quad = (0, -max(0, skew), 0, ph + max(0, -skew), pw, ph + max(0, skew), pw,
                -max(0, -skew))
        q = numpy.asarray(Image.fromarray(plate).transform(size, Image.QUAD, quad,
                                                           Image.BILINEAR))
        o = numpy.asarray(Image.fromarray(owner).transform(size, Image.QUAD, quad,
                                                           Image.NEAREST))
        q, o = q[:150], o[:150]
        x0 = rng.randint(0, 150 - q.shape[1] + 1)
        y0 = rng.randint(0, 150 - q.shape[0] + 1)
        bg[y0:y0 + q.shape[0], x0:x0 + q.shape[1]] = q
        views.append(bg)
        for k in range(len(words)):
            ys, xs = numpy.nonzero(o == k + 1)
            if len(xs):
                boxes[k][v] = (150 * v + x0 + xs.min() - 0.5, y0 + ys.min() - 0.5,
                               150 * v + x0 + xs.max() + 0.5, y0 + ys.max() + 0.5)
    return numpy.concatenate(views, axis=1), boxes


FSNS_TEXTS = {
    'train': ['Rue de la Paix', 'Avenue Victor Hugo', 'Impasse', 'Boulevard Voltaire',
              'Place de la République', 'Quai', 'Rue Émile Zola', 'Allée des Tilleuls'],
    'validation': ['Rue Lepic', 'Chemin de Halage', 'Rue de la Gare', 'Esplanade'],
    'test': ['Rue du Bac', 'Villa Saïd', 'Rue de Rivoli', 'Square'],
}


def fsns_root(root, shards=2):
    """``root/{train,validation,test}/SPLIT-0000K-of-0000S`` TFRecord shards.

    Returns ``{split: [text]}`` in the order of the records (shard by shard).
    """
    from chainer_see.data.char_map import CharMap   # the helpers encode with it
    char_map = CharMap.load('fsns')
    out = {}
    for seed, split in enumerate(('train', 'validation', 'test')):
        rng = numpy.random.RandomState(100 + seed)
        texts = FSNS_TEXTS[split]
        os.makedirs(os.path.join(root, split), exist_ok=True)
        for s in range(shards):
            part = texts[s::shards]
            payloads = [helpers.fsns_example(sign_views(t, rng)[0], t, char_map)
                        for t in part]
            helpers.write_fsns_shard(
                os.path.join(root, split, '%s-%05d-of-%05d' % (split, s, shards)), payloads)
        out[split] = [t for s in range(shards) for t in texts[s::shards]]
    return out


# ---------------------------------------------------------------------------- own data
def _write(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(line + '\n' for line in lines))


def write_words_gt(path, rows, num_words, max_chars, char_map):
    """The published SEE format: ``N<TAB>T`` then path and N x T class ids."""
    lines = ['%d\t%d' % (num_words, max_chars)]
    for rel, words in rows:
        ids = []
        for k in range(num_words):
            word = words[k] if k < len(words) else ''
            w = class_ids(word, char_map) if isinstance(char_map, str) else \
                [char_map[c] for c in word]
            ids.extend(w + [0] * (max_chars - len(w)))
        lines.append('\t'.join([rel] + [str(i) for i in ids]))
    _write(path, lines)


def write_text_gt(path, rows, max_chars):
    """Text-recognition variant: ``T<TAB>1`` then ``path<TAB>text``."""
    _write(path, ['%d\t1' % max_chars] + ['%s\t%s' % (rel, ' '.join(words))
                                          for rel, words in rows])


def write_readable_gt(path, rows, num_words, max_chars):
    """Readable variant: ``#see-words<TAB>N<TAB>T`` then ``path<TAB>word...``."""
    _write(path, ['#see-words\t%d\t%d' % (num_words, max_chars)] +
           ['\t'.join([rel] + list(words)) for rel, words in rows])


def write_boxes(gt_path, entries, views=1):
    """``NAME.boxes.json`` beside ``gt_path``: entries = [(rel, (W, H), word boxes)]."""
    doc = {'format': 'chainer-see boxes', 'version': 1, 'views': views,
           'images': {rel: {'size': list(size), 'boxes': [list(map(float, b)) for b in boxes]}
                      for rel, size, boxes in entries}}
    with open(os.path.splitext(gt_path)[0] + '.boxes.json', 'w') as f:
        json.dump(doc, f)


def own_images(root, folder, count, seed, words_fn, size_fn, place, styles=None):
    """Draw ``count`` images into ``root/folder``: ``[(rel, words in reading order,
    (W, H), word boxes in reading order)]``."""
    rng = numpy.random.RandomState(seed)
    rows = []
    for i in range(count):
        words = words_fn(rng, i)
        size = size_fn(rng, i)
        style = (styles or ['printed', 'handwritten'])[i % len(styles or [0, 1])]
        img, boxes, _ = draw_words(size, words, rng, style, place=place)
        words, boxes = reading_order(words, boxes)
        rel = '%s/%s_%02d.png' % (folder, style[:4], i)
        save_png(os.path.join(root, rel), img)
        rows.append((rel, words, size, boxes))
    return rows


def _number(rng, lo=1, hi=5):
    return ''.join(str(d) for d in rng.randint(0, 10, size=rng.randint(lo, hi + 1)))


FRENCH = ['Rue', 'de', 'la', 'Gare', 'Place', 'du', 'Marché', 'Avenue', 'Jean', 'Jaurès',
          'Quai', 'des', 'Brumes', 'Allée', 'Émile', 'Zola', 'Pont', 'Neuf', 'Côte', 'Saint']


def own_data(root):
    """A user's own data in every ground-truth layout the project reads.

    Returns ``{name: dict(path=..., rows=[(rel, words)], ...)}`` with files (relative
    image paths, relative to each file's folder ``root``):

    - ``numbers.tsv``: published words format, ``1<TAB>5``, one number per image of varied
      size, no boxes file;  ``numbers_boxed.tsv`` the same images with
      ``numbers_boxed.boxes.json``;
    - ``numbers_text.txt``: text variant ``5<TAB>1``;
    - ``gt.tsv``, ``test.tsv``: the first 7 and the last 3 of those numbers (README's
      ``my_data/gt.tsv`` and ``my_data/test.tsv``);
    - ``scenes.txt`` (+ boxes): readable ``#see-words<TAB>3<TAB>5``, 1-3 numbers at random
      places on ~200x200 photos;
    - ``signs.txt``: readable, 1-3 French words per line image (FSNS characters);
      ``signs_text.txt`` the same as text variant (spaces inside the text);
      ``signs_fsns.tsv`` the same in the published format with FSNS class ids;
      ``signs_own.tsv`` the same with the ids of the user's own char map ``chars.json``;
    - ``multiview.txt`` (+ boxes, ``views`` 4): readable, four 150x150 views side by side;
    - ``curriculum.json``: level 1 single numbers on 64x64 crops, level 2 the ~200x200
      scenes (up to 3 numbers).
    """
    os.makedirs(root, exist_ok=True)
    out = {}
    numbers = own_images(root, 'crops', 10, 1, lambda r, i: [_number(r)],
                         lambda r, i: (int(r.randint(40, 130)), int(r.randint(32, 80))), 'line')
    simple = [(rel, words) for rel, words, _, _ in numbers]
    write_words_gt(os.path.join(root, 'numbers.tsv'), simple, 1, 5, 'svhn')
    write_words_gt(os.path.join(root, 'numbers_boxed.tsv'), simple, 1, 5, 'svhn')
    write_boxes(os.path.join(root, 'numbers_boxed.tsv'),
                [(rel, size, boxes) for rel, _, size, boxes in numbers])
    write_text_gt(os.path.join(root, 'numbers_text.txt'), simple, 5)
    # README's "your own data": my_data/gt.tsv to train on, my_data/test.tsv held out
    write_words_gt(os.path.join(root, 'gt.tsv'), simple[:7], 1, 5, 'svhn')
    write_words_gt(os.path.join(root, 'test.tsv'), simple[7:], 1, 5, 'svhn')
    out['numbers'] = dict(rows=simple, num_words=1, char_map='svhn')

    scenes = own_images(root, 'scenes', 8, 2, lambda r, i: [_number(r, 1, 4) for _ in
                                                            range(r.randint(1, 4))],
                        lambda r, i: (int(r.randint(180, 230)), int(r.randint(170, 210))),
                        'anywhere')
    srows = [(rel, words) for rel, words, _, _ in scenes]
    write_readable_gt(os.path.join(root, 'scenes.txt'), srows, 3, 5)
    write_boxes(os.path.join(root, 'scenes.txt'),
                [(rel, size, boxes) for rel, _, size, boxes in scenes])
    out['scenes'] = dict(rows=srows, num_words=3, char_map='svhn')

    signs = own_images(root, 'signs', 8, 3,
                       lambda r, i: [FRENCH[j] for j in r.choice(len(FRENCH), r.randint(1, 4),
                                                                 replace=False)],
                       lambda r, i: (int(r.randint(240, 360)), int(r.randint(50, 90))), 'line')
    grows = [(rel, words) for rel, words, _, _ in signs]
    write_readable_gt(os.path.join(root, 'signs.txt'), grows, 3, 8)
    write_text_gt(os.path.join(root, 'signs_text.txt'), grows, 26)
    write_words_gt(os.path.join(root, 'signs_fsns.tsv'), grows, 3, 8, 'fsns')
    letters = sorted(set(''.join(w for _, words in grows for w in words)))
    own_map = {c: i for i, c in enumerate(letters, 1)}
    with open(os.path.join(root, 'chars.json'), 'w') as f:
        json.dump(dict([('0', 0x2422)] + [(str(i), ord(c)) for c, i in own_map.items()]), f,
                  indent=1)
    write_words_gt(os.path.join(root, 'signs_own.tsv'), grows, 3, 8, own_map)
    out['signs'] = dict(rows=grows, num_words=3, char_map='fsns')

    rng = numpy.random.RandomState(4)
    mrows, mboxes = [], []
    for i in range(6):
        words = list(rng.choice(FRENCH, rng.randint(1, 3), replace=False))
        img, boxes = sign_views(' '.join(words), rng)
        rel = 'multiview/%02d.png' % i
        save_png(os.path.join(root, rel), img)
        mrows.append((rel, words))
        mboxes.append((rel, (600, 150), [b for word in boxes for b in word]))
    write_readable_gt(os.path.join(root, 'multiview.txt'), mrows, 2, 8)
    write_boxes(os.path.join(root, 'multiview.txt'), mboxes, views=4)
    out['multiview'] = dict(rows=mrows, num_words=2, char_map='fsns')

    # curriculum: level 1 single numbers on 64x64 crops, level 2 the ~200x200 scenes
    crops = own_images(root, 'crops64', 10, 5, lambda r, i: [_number(r)],
                       lambda r, i: (64, 64), 'line')
    crows = [(rel, words) for rel, words, _, _ in crops]
    write_words_gt(os.path.join(root, 'level1_train.tsv'), crows[:7], 1, 5, 'svhn')
    write_words_gt(os.path.join(root, 'level1_validation.tsv'), crows[7:], 1, 5, 'svhn')
    write_readable_gt(os.path.join(root, 'level2_train.txt'), srows[:6], 3, 5)
    write_readable_gt(os.path.join(root, 'level2_validation.txt'), srows[6:], 3, 5)
    with open(os.path.join(root, 'curriculum.json'), 'w') as f:
        json.dump([{'train': 'level1_train.tsv', 'validation': 'level1_validation.tsv'},
                   {'train': 'level2_train.txt', 'validation': 'level2_validation.txt'}], f)
    return out


# ---------------------------------------------------------------------------- photos
def photo_and_scan(folder):
    """``photo.jpg`` (a house number on a wall, JPEG), ``scan.png`` (handwritten digits
    on paper, grayscale) and ``house.png`` (RGBA) in ``folder``."""
    rng = numpy.random.RandomState(7)
    img, _, _ = draw_words((320, 240), ['42'], rng, 'printed', place='line', height=90)
    Image.fromarray(img).save(os.path.join(folder, 'photo.jpg'), quality=85)
    img, _, _ = draw_words((400, 160), ['1789'], rng, 'handwritten', place='line', height=70)
    Image.fromarray(img).convert('L').save(os.path.join(folder, 'scan.png'))
    img, _, _ = draw_words((96, 80), ['305'], rng, 'printed', place='line', height=40)
    Image.fromarray(img).convert('RGBA').save(os.path.join(folder, 'house.png'))

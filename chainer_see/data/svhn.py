"""SVHN "format 1" -> 64x64 house-number crops (Table 1 protocol), and grid / random
composites of those crops.

``digitStruct.mat`` is MATLAB v7.3, i.e. HDF5: group ``digitStruct`` with datasets
``name`` and ``bbox`` of object references, one per image.  ``name[i]`` points to
uint16 character codes; ``bbox[i]`` to a group with ``label``, ``left``, ``top``,
``width``, ``height``, each either a 1x1 array holding the value (one digit) or an
array of references to 1x1 arrays (several digits, left to right).  Label 10 is the
digit 0.

Crop protocol (Goodfellow et al., as Table 1): the union box of all digits is
enlarged by 30 % of its width / height on every side, cut out (parts outside the
photo read black), and resized to 64x64 with bilinear filtering (the aspect ratio is
not kept).  Numbers with more than 5 digits are dropped and counted.

Digit boxes outside the photo (SVHN has boxes that start a pixel or two above or left of
their image, and a damaged ``digitStruct.mat`` can pair a photo with another photo's
boxes).  A box is compared with the photo's area ``[0, W] x [0, H]`` (pixel ``i`` covers
``[i, i + 1)``):

* partly outside: the box is clipped to the photo (the ink of a digit can only be where
  the photo is) before the crop and the true box are computed, and counted
  (``clipped digit boxes`` in ``conversion.json`` and the summary line);
* entirely outside (no area left after clipping): the entry cannot describe this photo,
  which is a :class:`DataError` naming ``digitStruct.mat``, the image index (1-based) and
  file name, and the digit; with ``skip_bad`` the image is skipped, reported and counted
  (``skipped: digit box outside its image``).

Output of :func:`convert_svhn` (``out/``)::

    images/<name>.png     the crops (SVHN's file names)
    gt.tsv                published SEE format, 1 word x 5 chars (gt.txt for readable)
    gt.boxes.json         the number's union box in each crop (the word box: the union
                          of its digit boxes, pixel-centre coordinates of the crop; the
                          box labels of ``train.py --box-fraction``)
    conversion.json       counts
"""
import collections
import json
import math
import os
import random

import numpy
from PIL import Image

from chainer_see.data import compose
from chainer_see.data.boxes import rescale_boxes
from chainer_see.data.char_map import CharMap
from chainer_see.data.errors import BadInputPolicy, DataError
from chainer_see.data.ground_truth import (
    boxes_path_for, read_ground_truth, write_boxes, write_ground_truth)
from chainer_see.data.image import open_image, to_rgb8
from chainer_see.data.output import atomic_output_dir
from chainer_see.data.reading_order import sort_in_reading_order
from chainer_see.progress import progress

SvhnEntry = collections.namedtuple('SvhnEntry', ['index', 'name', 'labels', 'boxes'])
SvhnEntry.__doc__ = """One image of digitStruct.mat: ``labels`` list of int (10 = zero),
``boxes`` float64 (k, 4) as ``(left, top, width, height)``, left to right."""

_FIELDS = ('label', 'left', 'top', 'width', 'height')
#: ``conversion.json`` keys of the digit boxes outside their photo (see the docstring)
OUTSIDE = 'skipped: digit box outside its image'
CLIPPED = 'clipped digit boxes'


def label_to_char(label):
    """SVHN digit label (1..10) -> character; 10 is '0'."""
    return '0' if label == 10 else str(label)


def _values(f, dset):
    import h5py
    data = dset[()]
    if h5py.check_dtype(ref=dset.dtype) is not None:
        out = []
        for r in numpy.asarray(data).ravel():
            out.append(numpy.asarray(f[r][()]).ravel()[0])
        return out
    return list(numpy.asarray(data).ravel())


def read_digit_struct(path, on_error=None):
    """Read ``digitStruct.mat`` -> list of :class:`SvhnEntry` (in file order).

    Raises :class:`DataError` naming the file and ``image <i> (<name>)`` (1-based), or
    passes it to ``on_error`` (which returns to skip the image).
    """
    import h5py
    try:
        f = h5py.File(path, 'r')
    except FileNotFoundError:
        raise DataError(path, None, 'digitStruct file not found') from None
    except OSError as e:
        raise DataError(path, None, 'not an HDF5 (MATLAB v7.3) file (%s)' % e) from None
    with f:
        try:
            ds = f['digitStruct']
            names, bboxes = ds['name'][()], ds['bbox'][()]
        except (KeyError, TypeError):
            raise DataError(path, None, 'expected group digitStruct with datasets name and '
                            'bbox') from None
        names, bboxes = numpy.asarray(names).ravel(), numpy.asarray(bboxes).ravel()
        if len(names) != len(bboxes):
            raise DataError(path, None, 'digitStruct/name has %d entries but digitStruct/bbox %d'
                            % (len(names), len(bboxes)))
        if not len(names):
            raise DataError(path, None, 'empty digitStruct (no images)')
        out = []
        for i, (nref, bref) in enumerate(zip(names, bboxes)):
            name = '?'
            try:
                try:
                    codes = numpy.asarray(f[nref][()]).ravel()
                    name = ''.join(chr(int(c)) for c in codes)
                    group = f[bref]
                    vals = {k: _values(f, group[k]) for k in _FIELDS}
                except (KeyError, ValueError, TypeError) as e:
                    raise DataError(path, 'image %d (%s)' % (i + 1, name),
                                    'malformed entry (%s)' % e) from None
                entry = _validate(path, i, name, vals)
            except DataError as e:
                if on_error is None:
                    raise
                on_error(e)
                continue
            out.append(entry)
        return out


def _validate(path, i, name, vals):
    where = 'image %d (%s)' % (i + 1, name)
    if not name or '/' in name or '\\' in name or name.startswith('.'):
        raise DataError(path, where, 'bad file name %r' % name)
    k = len(vals['label'])
    if k == 0 or any(len(vals[key]) != k for key in _FIELDS):
        raise DataError(path, where, 'label/left/top/width/height have %s values'
                        % '/'.join(str(len(vals[key])) for key in _FIELDS))
    labels = []
    for v in vals['label']:
        if float(v) != int(v) or not 1 <= int(v) <= 10:
            raise DataError(path, where, 'unknown digit label %r (SVHN labels are 1..10)' % v)
        labels.append(int(v))
    boxes = numpy.array([[float(vals[key][j]) for key in ('left', 'top', 'width', 'height')]
                         for j in range(k)], numpy.float64)
    if (boxes[:, 2:] <= 0).any():
        raise DataError(path, where, 'digit box with width or height <= 0')
    return SvhnEntry(i, name, labels, boxes)


def clip_digit_boxes(path, where, entry, size_wh):
    """The digit boxes of ``entry`` clipped to a photo of ``size_wh = (W, H)``.

    Returns ``(boxes float64 (k, 4) as (left, top, width, height), number clipped)``;
    a box entirely outside the photo raises :class:`DataError` (``path``, ``where``).
    """
    W, H = size_wh
    b = numpy.asarray(entry.boxes, numpy.float64).reshape(-1, 4)
    x0, y0 = b[:, 0], b[:, 1]
    x1, y1 = x0 + b[:, 2], y0 + b[:, 3]
    cx0, cx1 = numpy.clip(x0, 0, W), numpy.clip(x1, 0, W)
    cy0, cy1 = numpy.clip(y0, 0, H), numpy.clip(y1, 0, H)
    outside = (cx1 <= cx0) | (cy1 <= cy0)
    if outside.any():
        j = int(numpy.flatnonzero(outside)[0])
        raise DataError(path, where, 'digit %d (%s) box left %g, top %g, width %g, height %g '
                        'lies entirely outside the %dx%d image'
                        % (j + 1, label_to_char(entry.labels[j]), b[j, 0], b[j, 1], b[j, 2],
                           b[j, 3], W, H))
    clipped = (cx0 != x0) | (cx1 != x1) | (cy0 != y0) | (cy1 != y1)
    return numpy.stack([cx0, cy0, cx1 - cx0, cy1 - cy0], axis=1), int(clipped.sum())


def crop_number(img, digit_boxes, size=(64, 64), enlarge=0.3):
    """Cut the house number out of ``img`` by the Table 1 protocol.

    Args:
        img (PIL.Image.Image): the photo (any mode).
        digit_boxes: (k, 4) ``(left, top, width, height)`` of the digits.
        size: ``(H, W)`` of the crop.
        enlarge (float): share of the union box's width/height added on every side.

    Returns:
        ``(PIL RGB image of size (W, H), union box float32 (4,) in crop pixels)``.
    """
    b = numpy.asarray(digit_boxes, numpy.float64).reshape(-1, 4)
    x0, y0 = b[:, 0].min(), b[:, 1].min()
    x1, y1 = (b[:, 0] + b[:, 2]).max(), (b[:, 1] + b[:, 3]).max()
    w, h = x1 - x0, y1 - y0
    cx0, cx1 = x0 - enlarge * w, x1 + enlarge * w
    cy0, cy1 = y0 - enlarge * h, y1 + enlarge * h
    ix0, iy0 = int(math.floor(cx0)), int(math.floor(cy0))
    ix1, iy1 = int(math.ceil(cx1)), int(math.ceil(cy1))
    region = to_rgb8(img).crop((ix0, iy0, ix1, iy1))  # outside the photo reads black
    H, W = size
    crop = region.resize((W, H), Image.BILINEAR,
                         box=(cx0 - ix0, cy0 - iy0, cx1 - ix0, cy1 - iy0))
    sx, sy = W / (cx1 - cx0), H / (cy1 - cy0)
    # Continuous coordinates (pixel i covers [i, i+1)) -> pixel-centre convention: -0.5.
    box = numpy.array([(x0 - cx0) * sx, (y0 - cy0) * sy, (x1 - cx0) * sx, (y1 - cy0) * sy],
                      numpy.float32) - 0.5
    return crop, box


def convert_svhn(src, out, digit_struct=None, size=(64, 64), enlarge=0.3, max_digits=5,
                 skip_bad=False, report=None, overwrite=False, gt_format='words',
                 show_progress=None):
    """SVHN folder (``N.png`` + ``digitStruct.mat``) -> crops, ground truth, boxes JSON.

    Digit boxes partly outside their photo are clipped to it, boxes entirely outside are
    bad input (see the module docstring).  Returns the counts of ``conversion.json``.
    """
    digit_struct = digit_struct or os.path.join(src, 'digitStruct.mat')
    policy = BadInputPolicy(skip_bad, report)
    entries = read_digit_struct(digit_struct, on_error=policy)
    char_map = CharMap.load('svhn')
    counts = collections.Counter({OUTSIDE: 0, CLIPPED: 0})
    rows, boxes = [], []
    ext = '.txt' if gt_format == 'readable' else '.tsv'
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        os.makedirs(os.path.join(tmp, 'images'))
        for e in progress(entries, desc='svhn crops', enabled=show_progress, unit='img'):
            counts['images'] += 1
            if len(e.labels) > max_digits:
                counts['dropped: more than %d digits' % max_digits] += 1
                continue
            where = 'image %d (%s)' % (e.index + 1, e.name)
            outside = False
            try:
                try:
                    img = open_image(os.path.join(src, e.name))
                except DataError as err:
                    raise DataError(digit_struct, where, err.reason) from None
                outside = True
                digit_boxes, clipped = clip_digit_boxes(digit_struct, where, e, img.size)
                outside = False
                crop, box = crop_number(img, digit_boxes, size, enlarge)
            except DataError as err:
                policy(err)
                if outside:
                    counts[OUTSIDE] += 1
                continue
            rel = 'images/' + os.path.splitext(e.name)[0] + '.png'
            crop.save(os.path.join(tmp, rel))
            rows.append((rel, [''.join(label_to_char(v) for v in e.labels)]))
            boxes.append((rel, (size[1], size[0]), box[None]))
            counts['kept'] += 1
            counts[CLIPPED] += clipped
        if not rows:
            raise DataError(digit_struct, None, 'no image could be converted')
        write_ground_truth(os.path.join(tmp, 'gt' + ext), rows, 1, max_digits, char_map,
                           gt_format)
        write_boxes(os.path.join(tmp, 'gt.boxes.json'), boxes)
        counts['skipped_bad'] = policy.skipped
        with open(os.path.join(tmp, 'conversion.json'), 'w') as f:
            json.dump(dict(sorted(counts.items())), f, indent=1)
    dropped = sum(v for k, v in counts.items() if k.startswith('dropped'))
    policy.report('%d images, %d crops written, %d dropped (more than %d digits), %d bad '
                  '(%d with a digit box outside its image), %d digit boxes clipped to their '
                  'image' % (counts['images'], counts['kept'], dropped, max_digits,
                             policy.skipped, counts[OUTSIDE], counts[CLIPPED]))
    return dict(counts)


def build_composites(crops_gt, out, kind='grid', count=1000, seed=0, min_numbers=1,
                     max_numbers=4, canvas=(200, 200), min_size=None, max_size=None,
                     background=0, overwrite=False, gt_format='words', show_progress=None):
    """Compose 200x200 images of several crops (``kind`` ``'grid'`` or ``'random'``).

    Args:
        crops_gt (str): ground truth of crops with their boxes JSON (as written by
            :func:`convert_svhn`).
        count (int): images to make; crops are drawn at random (with replacement).
        seed (int): same seed, same images.
        min_numbers, max_numbers: numbers per image for ``'random'`` (grid: always 4).
        min_size, max_size: side of the pasted crops (default 56..96 grid, 48..96 random).
        background (int): grey level of the canvas (the paper's composites are black).

    Writes ``images/NNNNNN.png``, ``gt.tsv`` (N = max numbers, T of the crops) and
    ``gt.boxes.json``; labels and boxes in reading order.
    """
    if kind not in ('grid', 'random'):
        raise ValueError("kind must be 'grid' or 'random', not %r" % (kind,))
    char_map = CharMap.load('svhn')
    gt = read_ground_truth(crops_gt, char_map)
    if gt.num_words != 1:
        raise DataError(crops_gt, 1, 'expected crops with one number each, header says %d words'
                        % gt.num_words)
    if gt.boxes is None:
        raise DataError(crops_gt, None, 'needs the boxes file %s (written by the crop '
                        'converter)' % os.path.basename(boxes_path_for(crops_gt)))
    if kind == 'grid':
        min_numbers = max_numbers = 4
        min_size, max_size = min_size or 56, max_size or 96
    else:
        compose.check_count_range(min_numbers, max_numbers)
        min_size, max_size = min_size or 48, max_size or 96
    rng = random.Random('svhn-%s:%d' % (kind, seed))
    texts = [char_map.decode(lab[0]) for lab in gt.labels]
    rows, box_rows = [], []
    H, W = canvas
    ext = '.txt' if gt_format == 'readable' else '.tsv'
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        os.makedirs(os.path.join(tmp, 'images'))
        for i in progress(range(count), desc='svhn %s' % kind, enabled=show_progress,
                          unit='img'):
            if kind == 'grid':
                places = compose.grid_layout(rng, canvas, 2, 2, min_size, max_size)
            else:
                n = rng.randint(min_numbers, max_numbers)
                places = compose.random_layout(rng, n, canvas, min_size, max_size)
            img = numpy.full((H, W, 3), background, numpy.uint8)
            words, bxs = [], []
            for p in places:
                j = rng.randrange(len(gt))
                try:
                    src = open_image(gt.paths[j])
                except DataError as err:
                    raise DataError(crops_gt, gt.lines[j], '%s: %s' % (err.reason,
                                                                      gt.rel_paths[j])) from None
                ch, cw = src.size[1], src.size[0]
                crop = to_rgb8(src).resize((p[2], p[3]), Image.BILINEAR)
                compose.paste(img, numpy.asarray(crop), p)
                sw, sh = gt.sizes[j]
                box = rescale_boxes(gt.boxes[j], (sh, sw), (ch, cw))
                bxs.append(compose.placed_boxes(box, (ch, cw), p)[0])
                words.append(texts[j])
            bxs, words = sort_in_reading_order(numpy.stack(bxs), words)
            rel = 'images/%06d.png' % i
            Image.fromarray(img).save(os.path.join(tmp, rel))
            rows.append((rel, words))
            box_rows.append((rel, (W, H), bxs))
        write_ground_truth(os.path.join(tmp, 'gt' + ext), rows, max_numbers, gt.max_chars,
                           char_map, gt_format)
        write_boxes(os.path.join(tmp, 'gt.boxes.json'), box_rows)
    return len(rows)

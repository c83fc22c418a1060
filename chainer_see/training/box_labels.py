"""Box labels on a fixed share of the training images (``train.py --box-fraction F``).

:func:`box_chosen` decides by a hash of ``(seed, level, image)`` whether an image carries
its true word boxes, so the choice is the same across batch orders, resumes, restarts,
shards and ranks; :class:`BoxLabels` wraps a level's padded training set to return
``(image, labels, boxes (N*V, 4), box_mask (N*V,))``; :func:`check_box_labels` refuses,
before training, a level whose data cannot know their boxes.
"""
import hashlib

import numpy

from chainer.dataset import DatasetMixin

from chainer_see.data.errors import DataError
from chainer_see.data.ground_truth import boxes_path_for


def box_chosen(index, fraction, seed=0, salt=0):
    """True when image ``index`` carries its boxes: the first 8 bytes of
    ``blake2b('see-box:SEED:SALT:INDEX')`` read as an unsigned little-endian number,
    divided by 2^64, lie below ``fraction`` (``fraction >= 1``: every image; ``<= 0``:
    none).  A pure function: the same image is chosen in every process and run."""
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    key = ('see-box:%d:%d:%d' % (int(seed), int(salt), int(index))).encode('ascii')
    h = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(h, 'little') / 2.0 ** 64 < fraction


class BoxLabels(DatasetMixin):
    """``dataset`` with box labels on a fixed fraction of its images (module docstring).

    Example ``i`` is ``(image, labels (N, T), boxes float32 (N*V, 4), box_mask float32
    (N*V,))``: ``boxes`` in pixels of the returned image (``dataset.true_boxes(i)``, which
    follows the image's resizing), region-major (``n * V + v``) like the model's output;
    the true box of the ``j``-th word of the labels goes to the slot that holds that
    word (region ``k`` <-> word ``k`` in reading order, as the text labels), and
    ``box_mask`` is 1 there.  Images not chosen and empty slots get zero boxes and mask
    0 (no NaN anywhere).  Every other attribute is the wrapped dataset's.

    Args:
        dataset: a dataset with ``num_words``, ``true_boxes(i)`` (and ``num_views``).
        fraction (float): share of the images with boxes, in [0, 1].
        seed (int), salt (int): of :func:`box_chosen` (the run's seed, the level's place).
    """

    def __init__(self, dataset, fraction, seed=0, salt=0):
        if not 0 <= fraction <= 1:
            raise ValueError('box fraction must lie in [0, 1], got %r' % (fraction,))
        self.dataset = dataset
        self.fraction = float(fraction)
        self.seed = int(seed)
        self.salt = int(salt)

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):
        if name == 'dataset' or name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def chosen(self, i):
        """True when example ``i`` carries its box labels."""
        if i < 0:
            i += len(self)
        return box_chosen(i, self.fraction, self.seed, self.salt)

    def get_example(self, i):
        if i < 0:
            i += len(self)
        image, labels = self.dataset[i]
        views = int(getattr(self.dataset, 'num_views', 1) or 1)
        M = labels.shape[0] * views
        boxes = numpy.zeros((M, 4), numpy.float32)
        mask = numpy.zeros((M,), numpy.float32)
        if box_chosen(i, self.fraction, self.seed, self.salt):
            true = self.dataset.true_boxes(i)
            where = '%s, image %d' % (getattr(self.dataset, 'path', type(self.dataset).__name__), i)
            if true is None:
                raise ValueError('%s: no true boxes for an image chosen for box labels' % where)
            true = numpy.asarray(true, numpy.float32).reshape(-1, 4)
            slots = numpy.flatnonzero((labels != 0).any(axis=-1))
            if len(true) != len(slots) * views:
                raise ValueError('%s: %d true boxes for %d words x %d views'
                                 % (where, len(true), len(slots), views))
            if not numpy.isfinite(true).all():
                raise ValueError('%s: true boxes hold NaN/inf' % where)
            for j, k in enumerate(slots):
                boxes[k * views:(k + 1) * views] = true[j * views:(j + 1) * views]
                mask[k * views:(k + 1) * views] = 1
        return image, labels, boxes, mask


def check_box_labels(levels, fraction):
    """Every training set of ``levels`` knows its true boxes, as ``--box-fraction
    fraction`` (> 0) needs; else a :class:`DataError` naming the boxes file that is
    missing (ground-truth files: ``NAME.boxes.json`` beside ``NAME.tsv``), or a
    ``ValueError`` naming the level for a dataset that cannot know them."""
    for k, level in enumerate(levels):
        ds = level.train
        f = getattr(ds, 'true_boxes', None)
        if f is not None and len(ds) and f(0) is not None:
            continue
        path = getattr(ds, 'path', None)
        if isinstance(path, str):
            raise DataError(boxes_path_for(path), None,
                            'missing: --box-fraction %g needs the true word boxes of the '
                            'training images of level %d (%s), read from this file beside %s'
                            % (fraction, k + 1, level.name, path))
        raise ValueError('--box-fraction %g needs the true word boxes of the training '
                         'images, but level %d (%s) does not know them (%s)'
                         % (fraction, k + 1, level.name, type(ds).__name__))

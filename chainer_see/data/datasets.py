"""Datasets read from ground-truth files, and label padding for the curriculum.

Every dataset returns ``(image float32 (3, H, W) RGB in [0, 1], labels int32 (N, T))``
and exposes ``num_words`` (N), ``max_chars`` (T), ``char_map``, ``image_size`` (H, W),
``num_views`` and ``true_boxes(i)`` (``None`` where the boxes are not known).
"""
import chainer
import numpy

from chainer_see.data import boxes as box_utils
from chainer_see.data.char_map import CharMap
from chainer_see.data.errors import DataError
from chainer_see.data.ground_truth import read_ground_truth
from chainer_see.data.image import image_size_of, load_image


def as_char_map(char_map):
    """``'svhn'``, ``'fsns'``, a JSON path or a :class:`CharMap` -> :class:`CharMap`."""
    return char_map if isinstance(char_map, CharMap) else CharMap.load(char_map)


class GroundTruthDataset(chainer.dataset.DatasetMixin):
    """Images and labels listed in a ground-truth file (any variant, see ``ground_truth``).

    Args:
        path (str): ground-truth file.
        char_map: :class:`CharMap` or ``'svhn'`` / ``'fsns'`` / a JSON path.
        image_size (tuple or None): ``(H, W)`` every image is resized to; ``None`` takes
            the size of the first image.
        variant (str): ``'auto'``, ``'words'``, ``'text'`` or ``'readable'``.
        skip_bad (bool): report and skip bad rows instead of raising :class:`DataError`.
        report (callable): receives skip messages (default stderr).
        check_images (bool): check at construction that every image file exists.
        matte (float): grey level behind transparent pixels (1 = white).

    The boxes JSON beside the file (``NAME.boxes.json``), when there is one, provides
    :meth:`true_boxes` and ``num_views``.
    """

    def __init__(self, path, char_map='svhn', image_size=None, variant='auto', skip_bad=False,
                 report=None, check_images=True, matte=1.0):
        self.char_map = as_char_map(char_map)
        self.gt = read_ground_truth(path, self.char_map, variant=variant, skip_bad=skip_bad,
                                    report=report, check_images=check_images)
        self.path = path
        self.matte = matte
        if image_size is None:
            try:
                image_size = image_size_of(self.gt.paths[0])
            except DataError as e:
                raise DataError(path, self.gt.lines[0], e.reason + ': ' + self.gt.rel_paths[0])
        self.image_size = (int(image_size[0]), int(image_size[1]))

    def set_image_size(self, image_size):
        """Resize every image to ``(H, W)`` from now on (``true_boxes`` follow)."""
        self.image_size = (int(image_size[0]), int(image_size[1]))

    num_words = property(lambda self: self.gt.num_words)
    max_chars = property(lambda self: self.gt.max_chars)
    num_views = property(lambda self: self.gt.views)
    has_boxes = property(lambda self: self.gt.boxes is not None)

    def __len__(self):
        return len(self.gt)

    def image_path(self, i):
        return self.gt.paths[i]

    def words(self, i):
        """The words of example ``i`` as text (empty slots dropped)."""
        return [w for w in (self.char_map.decode(row) for row in self.gt.labels[i]) if w]

    def get_example(self, i):
        try:
            image = load_image(self.gt.paths[i], self.image_size, matte=self.matte)
        except DataError as e:
            raise DataError(self.path, self.gt.lines[i],
                            '%s: %s' % (e.reason, self.gt.rel_paths[i])) from None
        return image, self.gt.labels[i].copy()

    def true_boxes(self, i):
        """float32 ``(n_words * views, 4)`` in pixels of the returned image, or ``None``."""
        if self.gt.boxes is None:
            return None
        w, h = self.gt.sizes[i]
        return box_utils.rescale_boxes(self.gt.boxes[i], (h, w), self.image_size)


class PaddedLabels(chainer.dataset.DatasetMixin):
    """``dataset`` with labels padded by blank slots/characters to ``(num_words, max_chars)``.

    Used by the curriculum: when a level with more words is added, the examples of the
    easier levels keep their words in the first slots and get empty slots after them.
    Refuses to shrink (that would drop labels).  Every other attribute (``char_map``,
    ``image_size``, ``true_boxes`` ...) is the wrapped dataset's.
    """

    def __init__(self, dataset, num_words, max_chars):
        n0, t0 = dataset.num_words, dataset.max_chars
        if num_words < n0 or max_chars < t0:
            raise ValueError('PaddedLabels only grows labels: cannot turn %d words x %d chars '
                             'into %d words x %d chars' % (n0, t0, num_words, max_chars))
        self.dataset = dataset
        self.num_words = int(num_words)
        self.max_chars = int(max_chars)

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def get_example(self, i):
        image, labels = self.dataset[i]
        out = numpy.zeros((self.num_words, self.max_chars), numpy.int32)
        out[:labels.shape[0], :labels.shape[1]] = labels
        return image, out


class Subset(chainer.dataset.DatasetMixin):
    """Examples ``start .. stop - 1`` of ``dataset``, with all its attributes.

    Chainer's ``split_dataset`` returns a ``SubDataset`` that hides ``num_words``,
    ``char_map``, ``true_boxes`` ... of the dataset it splits; this view keeps them
    (``true_boxes(i)`` is the wrapped dataset's ``true_boxes(start + i)``).  Used for
    the validation split of a single ground-truth file.
    """

    def __init__(self, dataset, start, stop):
        if not 0 <= start <= stop <= len(dataset):
            raise ValueError('Subset [%d, %d) does not lie in a dataset of %d examples'
                             % (start, stop, len(dataset)))
        self.dataset = dataset
        self.start = int(start)
        self.stop = int(stop)

    def __len__(self):
        return self.stop - self.start

    def __getattr__(self, name):
        if name == 'dataset' or name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def _index(self, i):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError('index %d out of range for %d examples' % (i, n))
        return self.start + i

    def get_example(self, i):
        return self.dataset[self._index(i)]

    def true_boxes(self, i):
        f = getattr(self.dataset, 'true_boxes', None)
        return f(self._index(i)) if f is not None else None

    def image_path(self, i):
        return self.dataset.image_path(self._index(i))

    def words(self, i):
        return self.dataset.words(self._index(i))


def split_held_out(dataset, fraction, cap):
    """``(train, validation)`` of one dataset: validation is its last ``fraction`` of the
    examples (at least 1, at most ``cap``).  A dataset of one example is both."""
    n_val = min(cap, max(1, int(round(len(dataset) * fraction))))
    if n_val >= len(dataset):
        return dataset, dataset
    n = len(dataset)
    return Subset(dataset, 0, n - n_val), Subset(dataset, n - n_val, n)

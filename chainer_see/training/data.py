"""Training data per curriculum level, sharding across replicas, and iterators.

``CurriculumData(levels)`` turns the ``Level(name, train, validation)`` list of
``chainer_see.data.presets.curriculum_levels`` into the datasets of each training level:

* level ``k`` trains on the data of levels ``0..k`` together (``mix='add'``, the default:
  the next level's data is added to the old, not swapped for it; ``mix='replace'``:
  on level ``k``'s data alone), every label padded with blanks
  (``PaddedLabels``) to ``(N, T)`` = the largest word count and word length among them;
* level ``k`` validates on level ``k``'s validation set, padded the same way;
* without a curriculum (``curriculum=False``) there is one level: all levels mixed from
  the start, validated on all validation sets together.

Synthetic training sets (``SyntheticDataset``) hold a fresh random image at every index,
so they are read in order (no permutation of 10^6 indices) and several of them are
interleaved (index ``i`` -> dataset ``i % L``, item ``i // L``), which mixes the levels
in equal shares.  File datasets are concatenated and shuffled every epoch.

Data-parallel replicas (multi-GPU workers, MPI ranks) each read a disjoint shard
(every ``count``-th example from ``index``; all shards the same length), so no dataset
is sent between processes.

Box labels (``train.py --box-fraction F``, :mod:`chainer_see.training.box_labels`): with
``box_fraction > 0`` every training dataset of a level is wrapped, after padding, in
``BoxLabels``, whose examples are
``(image, labels, boxes (N*V, 4), box_mask (N*V,))``.  Which images carry their boxes is
a fixed choice by image: image ``i`` of the level at position ``k`` of the curriculum
(its place in ``levels``, the same with or without ``--no-curriculum``) carries them
when ``box_chosen(i, F, seed, k)``, a hash of ``(seed, k, i)`` below ``F``.  It depends
on nothing else: not on the batch order, the iteration, the current curriculum level,
a resume or restart, nor on the shard a replica reads (multi-GPU workers and ChainerMN
ranks see the same choice for the same image), so the same images keep their boxes for
the whole run.  ``F = 1`` boxes every image, ``F = 0`` (the default) leaves the data as
they were: ``(image, labels)``.  Validation data are never wrapped.
"""
import numpy

import chainer
from chainer.dataset import DatasetMixin

from chainer_see.data.datasets import PaddedLabels
from chainer_see.data.synthetic import SyntheticDataset
from chainer_see.training.box_labels import BoxLabels, check_box_labels


class _Joined(DatasetMixin):
    """Base of the dataset views below: ``num_words``, ``max_chars``, ``char_map``,
    ``image_size``... are those of the first dataset (all are padded alike);
    ``true_boxes(i)`` is mapped to the right dataset and index."""

    def _locate(self, i):
        raise NotImplementedError

    def __getattr__(self, name):
        if name in ('datasets', 'dataset') or name.startswith('_'):
            raise AttributeError(name)
        first = self.datasets[0] if 'datasets' in self.__dict__ else self.dataset
        return getattr(first, name)

    def get_example(self, i):
        ds, j = self._locate(i)
        return ds[j]

    def true_boxes(self, i):
        ds, j = self._locate(i)
        f = getattr(ds, 'true_boxes', None)
        return f(j) if f is not None else None


class Interleaved(_Joined):
    """Example ``i`` is ``datasets[i % L][i // L]``; length ``L * min(len)``."""

    def __init__(self, datasets):
        if not datasets:
            raise ValueError('Interleaved needs at least one dataset')
        self.datasets = list(datasets)
        self._length = len(self.datasets) * min(len(d) for d in self.datasets)

    def __len__(self):
        return self._length

    def _locate(self, i):
        if i < 0:
            i += len(self)
        L = len(self.datasets)
        return self.datasets[i % L], i // L


class Concatenated(_Joined):
    """The datasets one after the other."""

    def __init__(self, datasets):
        if not datasets:
            raise ValueError('Concatenated needs at least one dataset')
        self.datasets = list(datasets)
        self._ends = numpy.cumsum([len(d) for d in self.datasets])

    def __len__(self):
        return int(self._ends[-1])

    def _locate(self, i):
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError('index %d out of range for %d examples' % (i, len(self)))
        k = int(numpy.searchsorted(self._ends, i, side='right'))
        start = int(self._ends[k - 1]) if k else 0
        return self.datasets[k], i - start


class Shard(_Joined):
    """Examples ``index, index + count, ...`` of ``dataset``; every shard of the same
    ``count`` has length ``len(dataset) // count`` (the remainder is left out)."""

    def __init__(self, dataset, index, count):
        if not 0 <= index < count:
            raise ValueError('shard index %d not in [0, %d)' % (index, count))
        if len(dataset) < count:
            raise ValueError('a dataset of %d examples cannot be split among %d replicas'
                             % (len(dataset), count))
        self.dataset = dataset
        self.index = int(index)
        self.count = int(count)

    def __len__(self):
        return len(self.dataset) // self.count

    def _locate(self, i):
        if i < 0:
            i += len(self)
        return self.dataset, self.index + i * self.count


def label_shape(datasets):
    """``(N, T)``: the largest word count and word length among ``datasets``."""
    return (max(int(d.num_words) for d in datasets), max(int(d.max_chars) for d in datasets))


def _pad(dataset, shape):
    if (dataset.num_words, dataset.max_chars) == tuple(shape):
        return dataset
    return PaddedLabels(dataset, *shape)


def _is_synthetic(dataset):
    return isinstance(dataset, SyntheticDataset)


def combine(datasets, shape, wrap=None):
    """Pad every dataset to ``shape`` and join them: interleaved when all are synthetic,
    else concatenated.  ``wrap(padded, k)``, when given, replaces the ``k``-th padded
    dataset (box labels).  Returns ``(dataset, shuffle)``."""
    padded = [_pad(d, shape) for d in datasets]
    if wrap is not None:
        padded = [wrap(d, k) for k, d in enumerate(padded)]
    if all(_is_synthetic(d) for d in datasets):
        joined = padded[0] if len(padded) == 1 else Interleaved(padded)
        return joined, False
    joined = padded[0] if len(padded) == 1 else Concatenated(padded)
    return joined, True


#: how a curriculum level's training data relate to the earlier levels' (CurriculumData)
MIXES = ('add', 'replace')


class CurriculumData(object):
    """Datasets of every training level (see the module docstring).

    Args:
        levels: list of ``presets.Level`` (easiest first).
        curriculum (bool): ``False`` mixes all levels from the start (one level).
        mix (str): ``'add'``: level ``k`` trains on levels ``0..k``; ``'replace'``: on
            level ``k`` alone (its images all hold ``k``'s word count, so no word slot
            learns that reading nothing is right while it should be finding a word).
        shard_index, shard_count: this replica's share of the training and validation
            data (``0, 1`` = all of it).
        box_fraction (float): share of the training images with box labels (module
            docstring); 0 = text only.  Above 0 every level's training set must know its
            boxes (:func:`check_box_labels`, at construction).
        box_seed (int): seed of the choice of those images (the run's ``--seed``).
    """

    def __init__(self, levels, curriculum=True, shard_index=0, shard_count=1, box_fraction=0.0,
                 box_seed=0, mix='add'):
        if not levels:
            raise ValueError('no training levels')
        if not 0 <= box_fraction <= 1:
            raise ValueError('box fraction must lie in [0, 1], got %r' % (box_fraction,))
        if mix not in MIXES:
            raise ValueError('curriculum mix must be one of %s, got %r' % (MIXES, mix))
        self.levels = list(levels)
        self.curriculum = bool(curriculum)
        self.mix = mix
        self.shard_index = int(shard_index)
        self.shard_count = int(shard_count)
        self.box_fraction = float(box_fraction)
        self.box_seed = int(box_seed)
        if self.box_fraction > 0:
            check_box_labels(self.levels, self.box_fraction)

    @property
    def num_levels(self):
        return len(self.levels) if self.curriculum else 1

    def _indices(self, level):
        """Positions in ``levels`` of the data that ``level`` trains on."""
        self._check(level)
        if not self.curriculum:
            return list(range(len(self.levels)))
        return [level] if self.mix == 'replace' else list(range(level + 1))

    def _included(self, level):
        return [self.levels[i] for i in self._indices(level)]

    def _check(self, level):
        if not 0 <= level < self.num_levels:
            raise ValueError('curriculum level %d does not exist (levels 0..%d)'
                             % (level, self.num_levels - 1))

    def name(self, level):
        """Readable name of a training level."""
        if not self.curriculum and len(self.levels) > 1:
            return 'all levels mixed (%s)' % ', '.join(lv.name for lv in self.levels)
        return self.levels[level].name

    def label_shape(self, level):
        """``(N, T)`` of the labels (and the model) at ``level``."""
        inc = self._included(level)
        return label_shape([lv.train for lv in inc] + [lv.validation for lv in inc])

    def train(self, level):
        """``(dataset, shuffle)`` of this replica at ``level``."""
        inc = self._included(level)
        where = self._indices(level)
        wrap = None
        if self.box_fraction > 0:     # salt: the level's place in self.levels
            def wrap(ds, k):
                return BoxLabels(ds, self.box_fraction, self.box_seed, salt=where[k])
        ds, shuffle = combine([lv.train for lv in inc], self.label_shape(level), wrap)
        return self._shard(ds), shuffle

    def validation(self, level, full=False):
        """Validation dataset at ``level`` (this replica's shard unless ``full``)."""
        inc = self._included(level)
        vals = [lv.validation for lv in (inc if not self.curriculum else inc[-1:])]
        shape = self.label_shape(level)
        padded = [_pad(d, shape) for d in vals]
        ds = padded[0] if len(padded) == 1 else Concatenated(padded)
        return ds if full else self._shard(ds)

    def _shard(self, ds):
        if self.shard_count == 1:
            return ds
        return Shard(ds, self.shard_index, self.shard_count)

    def sizes(self, level):
        """``{'train': n, 'validation': n}`` of this replica at ``level``."""
        return {'train': len(self.train(level)[0]), 'validation': len(self.validation(level))}

    def check_fits(self, config, word_weights=None):
        """Check every level against the model of ``config`` before training starts.

        One SEE model reads one input size, one character set and one number of views
        for the whole run (as in the published code, where they are fixed when the model
        is built); N and T follow the levels.  ``ValueError`` with one line naming the
        level and file where a level's images or labels do not fit, so that a mismatch
        stops the run before its first iteration rather than at a level switch hours in.
        ``word_weights``: the loss's per-slot weights, which bound N.
        """
        want_chars = list(config.get_char_map().chars)
        for k, level in enumerate(self.levels):
            for split in ('train', 'validation'):
                _check_dataset(getattr(level, split), config, want_chars,
                               'level %d (%s) %s' % (k + 1, level.name, split))
        N = max(self.label_shape(k)[0] for k in range(self.num_levels))
        if word_weights is not None and len(word_weights) < N:
            raise ValueError('the curriculum reaches %d words per image, but the loss weighs '
                             'at most %d word slots (the published FSNS loss); use at most %d '
                             'words or another --loss-mode' % (N, len(word_weights),
                                                               len(word_weights)))

    def describe(self):
        """JSON-ready description of the levels (for ``config.json``)."""
        out = []
        for k in range(self.num_levels):
            N, T = self.label_shape(k)
            inc = self._included(k)
            out.append({'level': k, 'name': self.name(k), 'num_regions': N, 'num_chars': T,
                        'train': [_describe(lv.train) for lv in inc],
                        'validation': [_describe(lv.validation)
                                       for lv in (inc[-1:] if self.curriculum else inc)]})
        return out


def _check_dataset(ds, config, want_chars, where):
    where = '%s, %s' % (where, getattr(ds, 'path', type(ds).__name__))
    size = tuple(int(v) for v in ds.image_size)
    if size != tuple(config.image_size):
        raise ValueError(
            '%s: images are %dx%d (W x H) but the model reads %dx%d: every curriculum level '
            'must have the input size of the one model; prepare the levels at one size, or '
            'give --model to resize every level to its preset size'
            % (where, size[1], size[0], config.image_size[1], config.image_size[0]))
    chars = list(ds.char_map.chars)
    if chars != want_chars:
        raise ValueError('%s: labels use char map %s (%d classes), the model %s (%d classes)'
                         % (where, ds.char_map.name or 'from a file', len(chars),
                            config.char_map if isinstance(config.char_map, str)
                            else 'from a file', len(want_chars)))
    views = int(getattr(ds, 'num_views', 1) or 1)
    if views > 1 and views != config.views:
        raise ValueError('%s: the boxes file says %d views per image, the model reads %d'
                         % (where, views, config.views))


def _describe(ds):
    d = {'type': type(ds).__name__, 'size': len(ds),
         'num_words': int(ds.num_words), 'max_chars': int(ds.max_chars)}
    for attr in ('kind', 'seed', 'path'):
        v = getattr(ds, attr, None)
        if isinstance(v, (str, int)):
            d[attr] = v
    return d


LOADERS = ('serial', 'thread', 'process')


def make_iterator(dataset, batch_size, train=True, shuffle=False, seed=0, loader='serial',
                  workers=2):
    """A Chainer iterator over ``dataset``.

    Training iterators repeat (shuffled every epoch when ``shuffle``, from
    ``RandomState(seed)``); validation iterators make one pass in order.  ``loader``:
    ``'serial'`` (``SerialIterator``, in this process), ``'thread'``
    (``MultithreadIterator``) or ``'process'`` (``MultiprocessIterator``) with
    ``workers`` threads/processes preparing the next batches.
    """
    if loader not in LOADERS:
        raise ValueError('loader must be one of %s, got %r' % (LOADERS, loader))
    repeat = bool(train)
    shuffle = bool(train and shuffle)
    sampler = (chainer.iterators.ShuffleOrderSampler(numpy.random.RandomState(seed))
               if shuffle else None)
    if loader == 'serial' or not train:
        return chainer.iterators.SerialIterator(dataset, batch_size, repeat=repeat,
                                                shuffle=None if sampler else False,
                                                order_sampler=sampler)
    if loader == 'thread':
        return chainer.iterators.MultithreadIterator(dataset, batch_size, repeat=repeat,
                                                     shuffle=None if sampler else False,
                                                     n_threads=workers,
                                                     order_sampler=sampler)
    return chainer.iterators.MultiprocessIterator(dataset, batch_size, repeat=repeat,
                                                  shuffle=None if sampler else False,
                                                  n_processes=workers, n_prefetch=2,
                                                  order_sampler=sampler)

"""Dataset presets: what ``train.py --dataset`` and ``evaluate.py --dataset`` accept.

A preset names the data, the curriculum levels over it, and the model and loss presets
that fit it.  ``--dataset`` also takes a path: a ground-truth file (one level) or a
curriculum JSON (one level per entry).

==========================  ==================================  ==============  =============
preset                      data                                levels          model
==========================  ==================================  ==============  =============
``synthetic-svhn``          64x64 house-number crops            1               ``svhn``
``synthetic-grid``          numbers in a 2x2 grid, 200x200      4 (1..4 nums)   ``svhn-grid``
``synthetic-grid4``         4 numbers in a 2x2 grid, 200x200    1               ``svhn-grid``
``synthetic-grid128``       64x64 crops in a 2x2 grid, 128x128  4 (1..4 nums)   ``svhn-grid``
``synthetic-grid128-zoom``  one number zooming out, then 2..4   5 (2 + 2..4)    ``svhn-grid``
``synthetic-random``        1-4 numbers anywhere, 200x200       4 (1..4 nums)   ``svhn-grid``
``synthetic-random128``     1-4 numbers anywhere, 128x128       4 (1..4 nums)   ``svhn-grid``
``synthetic-fsns``          four views of a street sign         4 (1..4 words)  ``fsns``
``svhn``                    DATA/svhn/{train,test}/gt.tsv       1               ``svhn``
``svhn-grid``               DATA/svhn/grid[-test]/gt.tsv        1               ``svhn-grid``
``svhn-random``             DATA/svhn/random[-test]/gt.tsv      1               ``svhn-grid``
``fsns``                    DATA/fsns/curriculum.json           from file       ``fsns``
==========================  ==================================  ==============  =============

Synthetic splits never overlap: training uses the run's seed, validation and test use
fixed seeds of their own (``VALIDATION_SEED``, ``TEST_SEED``), so every run of a preset
is measured on the same held-out images.  Level ``k`` of a synthetic curriculum holds
images with exactly ``k`` numbers (words) and ``k`` word slots; training on all levels
at once (no curriculum) is the same data mixed from the start.  The test set of
``synthetic-random`` and ``synthetic-fsns`` mixes all levels, as the real test sets do;
that of the grids and of ``synthetic-random128`` has four numbers on every image, the
task the curriculum leads to.
"""
import collections
import dataclasses
import os

from chainer_see.data.datasets import GroundTruthDataset
from chainer_see.data.datasets import split_held_out
from chainer_see.data.errors import DataError
from chainer_see.data.ground_truth import load_curriculum
from chainer_see.data.synthetic import SyntheticDataset

VALIDATION_SEED = 10_001
TEST_SEED = 20_002
#: images of an on-the-fly synthetic training set (each index is a fresh random image,
#: so the iterator need not shuffle)
SYNTHETIC_TRAIN_SIZE = 1_000_000

Level = collections.namedtuple('Level', ['name', 'train', 'validation'])


@dataclasses.dataclass(frozen=True)
class DatasetPreset(object):
    """A named dataset: synthetic (``kind`` + per-level options) or files under DATA."""

    name: str
    model: str
    loss: str
    description: str
    kind: str = None                 # synthetic kind
    levels: tuple = ({},)            # synthetic: SyntheticDataset options per level (a
    #                                  'kind' entry overrides ``kind`` for that level)
    train: str = None                # files: relative to --data-dir
    test: str = None
    curriculum: str = None
    converter: str = None            # the command that prepares the files
    test_mixed: bool = True          # synthetic test set: all levels mixed, or the last
    char_map: str = 'svhn'           # the char map its labels use

    @property
    def synthetic(self):
        return self.kind is not None


def _exactly(key, k):
    return {'min_' + key: k, 'max_' + key: k}


PRESETS = collections.OrderedDict((p.name, p) for p in [
    DatasetPreset('synthetic-svhn', 'svhn', 'svhn',
                  'synthetic 64x64 house-number crops (Table 1 analogue), no download',
                  kind='svhn-crops'),
    DatasetPreset('synthetic-grid', 'svhn-grid', 'svhn-grid',
                  'synthetic 200x200 images, numbers in a 2x2 grid; curriculum 1->2->3->4 '
                  'filled cells, tested on four',
                  kind='svhn-grid', levels=tuple(_exactly('numbers', k) for k in (1, 2, 3, 4)),
                  test_mixed=False),
    DatasetPreset('synthetic-grid4', 'svhn-grid', 'svhn-grid',
                  'synthetic 200x200 images, four numbers in a 2x2 grid from the start (no '
                  'curriculum, the grid of the earlier experiments)',
                  kind='svhn-grid'),
    DatasetPreset('synthetic-grid128', 'svhn-grid', 'svhn-grid',
                  'synthetic 128x128 images, 64x64 house-number crops in a 2x2 grid (the '
                  'grid at the crops\' scale, for CPUs); curriculum 1->2->3->4 filled cells, '
                  'tested on four',
                  kind='svhn-grid128',
                  levels=tuple(_exactly('numbers', k) for k in (1, 2, 3, 4)), test_mixed=False),
    DatasetPreset('synthetic-grid128-zoom', 'svhn-grid', 'svhn-grid',
                  'the 128x128 grid led up to by zooming out from the crops: one number in a '
                  '96-128 px crop anywhere, then in a 64-96 px crop anywhere, then 2, 3 and 4 '
                  'filled cells; tested on four',
                  kind='svhn-grid128',
                  levels=(dict(kind='svhn-zoom128', min_side=96, max_side=128),
                          dict(kind='svhn-zoom128', min_side=64, max_side=96))
                  + tuple(_exactly('numbers', k) for k in (2, 3, 4)), test_mixed=False),
    DatasetPreset('synthetic-random', 'svhn-grid', 'svhn-grid',
                  'synthetic 200x200 images, numbers at random places; curriculum 1->2->3->4',
                  kind='svhn-random',
                  levels=tuple(_exactly('numbers', k) for k in (1, 2, 3, 4))),
    DatasetPreset('synthetic-random128', 'svhn-grid', 'svhn-grid',
                  'synthetic 128x128 images, numbers of 40-64 px at random places (the '
                  'random set at the grid128 scale, for CPUs); curriculum 1->2->3->4, '
                  'tested on four',
                  kind='svhn-random128',
                  levels=tuple(_exactly('numbers', k) for k in (1, 2, 3, 4)), test_mixed=False),
    DatasetPreset('synthetic-fsns', 'fsns', 'fsns',
                  'synthetic FSNS-like signs, four 150x150 views; curriculum 1->4 words',
                  kind='fsns-like',
                  levels=tuple(_exactly('words', k) for k in (1, 2, 3, 4)), char_map='fsns'),
    DatasetPreset('svhn', 'svhn', 'svhn', 'SVHN 64x64 crops (Table 1)',
                  train='svhn/train/gt.tsv', test='svhn/test/gt.tsv',
                  converter='python datasets/svhn/prepare.py crops SVHN/train DATA/svhn/train '
                            '&& python datasets/svhn/prepare.py crops SVHN/test DATA/svhn/test'),
    DatasetPreset('svhn-grid', 'svhn-grid', 'svhn-grid', 'SVHN crops in a 2x2 grid, 200x200',
                  train='svhn/grid/gt.tsv', test='svhn/grid-test/gt.tsv',
                  converter='python datasets/svhn/prepare.py grid DATA/svhn/train/gt.tsv '
                            'DATA/svhn/grid && python datasets/svhn/prepare.py grid '
                            'DATA/svhn/test/gt.tsv DATA/svhn/grid-test'),
    DatasetPreset('svhn-random', 'svhn-grid', 'svhn-grid',
                  'SVHN crops at random places, 200x200',
                  train='svhn/random/gt.tsv', test='svhn/random-test/gt.tsv',
                  converter='python datasets/svhn/prepare.py random DATA/svhn/train/gt.tsv '
                            'DATA/svhn/random && python datasets/svhn/prepare.py random '
                            'DATA/svhn/test/gt.tsv DATA/svhn/random-test'),
    DatasetPreset('fsns', 'fsns', 'fsns', 'FSNS street-name signs (Table 2)',
                  curriculum='fsns/curriculum.json', test='fsns/test.tsv',
                  converter='python datasets/fsns/prepare.py FSNS_ROOT DATA/fsns', char_map='fsns'),
])


def get_preset(name):
    """The ``DatasetPreset`` called ``name``; ``ValueError`` listing the presets if none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError('unknown dataset preset %r; presets: %s (or a path to a ground-truth '
                         'file or curriculum JSON)' % (name, ', '.join(PRESETS))) from None


def is_path(dataset):
    """True where ``--dataset`` names a file rather than a preset."""
    return dataset not in PRESETS and (os.sep in dataset or os.path.splitext(dataset)[1] != '')


def _data_file(preset, data_dir, relative):
    path = os.path.join(data_dir, relative)
    if not os.path.exists(path):
        raise FileNotFoundError(
            'dataset %r needs %s, which does not exist. Prepare it with:\n  %s'
            % (preset.name, path, preset.converter.replace('DATA', data_dir)))
    return path


def curriculum_levels(dataset, data_dir='data', image_size=None, seed=0,
                      validation_size=256, validation_fraction=0.05, skip_bad=False,
                      char_map=None):
    """The training levels of ``dataset`` (preset name or path), easiest first.

    Args:
        dataset (str): a preset name, a ground-truth file or a curriculum JSON.
        data_dir (str): folder of the prepared real datasets.
        image_size ((int, int) or None): resize images to this size (``None``: the
            native size of synthetic images, the first image's size for files).
        seed (int): seed of the synthetic training images.
        validation_size (int): images per synthetic validation level.
        validation_fraction (float): share of a single ground-truth file held out for
            validation (at most 5,000 images) where no validation file exists.
        skip_bad (bool): report and skip bad ground-truth lines.
        char_map (CharMap or str or None): the char map of ground-truth files (the
            model's); ``None``: the preset's (``'svhn'`` for a path).  Synthetic data
            carry their own.

    Returns:
        list of ``Level(name, train, validation)``.
    """
    read = _file_reader(dataset, image_size, skip_bad, char_map, TRAIN_HINT)
    if not is_path(dataset):
        preset = get_preset(dataset)
        if preset.synthetic:
            levels = []
            for i, opts in enumerate(preset.levels):
                name = '%s-%d' % (preset.name, i + 1) if len(preset.levels) > 1 else preset.name
                opts = dict(opts)
                kind = opts.pop('kind', preset.kind)
                levels.append(Level(
                    name,
                    SyntheticDataset(kind, SYNTHETIC_TRAIN_SIZE, seed=seed,
                                     image_size=image_size, **opts),
                    SyntheticDataset(kind, validation_size, seed=VALIDATION_SEED,
                                     image_size=image_size, **opts)))
            return levels
        if preset.curriculum:
            return _curriculum_file(_data_file(preset, data_dir, preset.curriculum), read)
        train = read(_data_file(preset, data_dir, preset.train))
        return [Level(preset.name, *split_held_out(train, validation_fraction, 5000))]
    if not os.path.exists(dataset):
        raise FileNotFoundError('dataset file %s does not exist' % dataset)
    if dataset.endswith('.json'):
        return _curriculum_file(dataset, read)
    train = read(dataset)
    return [Level(os.path.basename(dataset), *split_held_out(train, validation_fraction, 5000))]


def _file_reader(dataset, image_size, skip_bad, char_map, hint):
    """``path -> GroundTruthDataset`` with the char map of ``dataset`` (or the one given)."""
    if char_map is None:
        char_map = 'svhn' if is_path(dataset) else get_preset(dataset).char_map

    def read(path):
        try:
            return GroundTruthDataset(path, char_map=char_map, image_size=image_size,
                                      skip_bad=skip_bad)
        except DataError as e:
            if not _wrong_char_map(e):
                raise
            raise DataError(e.path, e.line, e.reason + hint) from None
    return read


#: Appended to a label the char map cannot hold: for training, the option that fixes it;
#: for evaluation (read with the model's char map), why it cannot be fixed there.
TRAIN_HINT = ('; the labels are in another character set: choose it with '
              '--char-map svhn|fsns|FILE.json (or --model fsns)')
EVALUATION_HINT = ("; the labels are in another character set than the model's: this model "
                   "was not trained to read them")


def _wrong_char_map(error):
    return 'unknown class id' in error.reason or 'is not in char map' in error.reason


def _curriculum_file(path, read):
    return [Level('level-%d' % (i + 1), read(level.train), read(level.validation))
            for i, level in enumerate(load_curriculum(path))]


def evaluation_dataset(dataset, data_dir='data', image_size=None, count=1000, skip_bad=False,
                       char_map=None):
    """The held-out evaluation set of ``dataset`` (preset name or ground-truth file).

    Synthetic presets give ``count`` images of all their levels mixed from ``TEST_SEED``;
    file presets their test ground truth; a curriculum JSON, which has no test set, the
    validation file of its last (hardest) level; any other path is read as it is.
    ``image_size`` and ``char_map`` as in :func:`curriculum_levels`.
    """
    read = _file_reader(dataset, image_size, skip_bad, char_map, EVALUATION_HINT)
    if is_path(dataset):
        if not os.path.exists(dataset):
            raise FileNotFoundError('ground-truth file %s does not exist' % dataset)
        if dataset.endswith('.json'):
            return read(load_curriculum(dataset)[-1].validation)
        return read(dataset)
    preset = get_preset(dataset)
    if preset.synthetic:
        opts = dict(preset.levels[-1])
        kind = opts.pop('kind', preset.kind)
        if len(preset.levels) > 1 and preset.test_mixed:   # as the real test sets do
            key = 'numbers' if 'min_numbers' in opts else 'words'
            opts['min_' + key] = preset.levels[0]['min_' + key]
        return SyntheticDataset(kind, count, seed=TEST_SEED, image_size=image_size, **opts)
    return read(_data_file(preset, data_dir, preset.test))

"""The held-out set ``evaluate.py`` reads, and how it fits the model.

- :func:`open_evaluation_set`: the held-out set of a dataset preset, ground-truth file or
  curriculum JSON, at the model's input size and with its char map.
- :func:`fit_warning`: one line saying how the data does not fit the model (word slots,
  characters per word, char map) and what that does to the figures.
- :class:`Relabel`: class ids of the data's char map -> the model's (by character).
"""
import os

import numpy

DEFAULT_COUNT = 1000


def open_evaluation_set(dataset, config, data_dir='data', count=DEFAULT_COUNT, skip_bad=False):
    """The held-out set of ``dataset`` (preset name, ground-truth file or curriculum JSON)
    for a model of ``config``: images resized to ``config.image_size``, labels read with
    the model's char map.

    Returns ``(dataset, note)``, ``note`` a line for the user or ``None``.  A curriculum
    JSON has no test set: its last (hardest) level's validation file is used, and the
    note says so.  Raises ``FileNotFoundError`` / ``DataError`` / ``ValueError`` with the
    file or option named.  A dataset with its own char map (the synthetic ones) may differ
    from the model's: :func:`fit_warning` says so and :func:`evaluate_model` compares
    the labels by character.
    """
    from chainer_see.data import presets
    from chainer_see.data.ground_truth import load_curriculum

    char_map = config.get_char_map()
    note = None
    if presets.is_path(dataset) and dataset.endswith('.json') and os.path.exists(dataset):
        note = ('%s is a curriculum (no test set): evaluating on the validation file of '
                'its last level, %s' % (dataset, load_curriculum(dataset)[-1].validation))
    ds = presets.evaluation_dataset(dataset, data_dir, image_size=tuple(config.image_size),
                                    count=count, skip_bad=skip_bad, char_map=char_map)
    return ds, note


def _char_map_name(cm):
    """``svhn`` / ``fsns`` for the built-in maps (also when stored as a list), else a name
    or ``custom``."""
    from chainer_see.data.char_map import CharMap
    for name in ('svhn', 'fsns'):
        if cm.chars == CharMap.load(name).chars:
            return name
    return cm.name or 'custom'


def fit_warning(config, dataset):
    """One line saying how ``dataset`` does not fit a model of ``config``, and what that
    means for the figures; ``None`` when it fits.

    Compared: word slots (the model's N against the data's words per image), characters
    per word (T), and the char map.  The evaluation goes on in every case (see
    :func:`evaluate_model`): words beyond the model's N slots or longer than its T
    characters count as wrong, and labels of another char map are compared by character,
    characters the model does not know counting as wrong.
    """
    parts = []
    n, t = config.num_regions, config.num_chars
    dn, dt = getattr(dataset, 'num_words', n), getattr(dataset, 'max_chars', t)
    if dn > n:
        parts.append('the model has %d word slot%s, the data up to %d words per image: words '
                     'beyond slot %d can never be read and count as wrong, lowering every '
                     'accuracy figure' % (n, '' if n == 1 else 's', dn, n))
    elif dn < n:
        extra = 'slot %d' % n if dn + 1 == n else 'slots %d..%d' % (dn + 1, n)
        parts.append('the model has %d word slots, the data at most %d word%s per image: '
                     '%s must read nothing, and a word read there counts against sequence '
                     'and char accuracy' % (n, dn, '' if dn == 1 else 's', extra))
    if dt > t:
        parts.append('the model reads at most %d characters per word, the data has words of '
                     'up to %d: longer words can never be read and count as wrong' % (t, dt))
    model_map, data_map = config.get_char_map(), getattr(dataset, 'char_map', None)
    if data_map is not None and data_map != model_map:
        unknown = sorted(set(data_map.chars[1:]) - set(model_map.chars[1:]))
        what = ('every character of the data is in the model\'s char map' if not unknown else
                '%d of the data\'s %d characters are not in the model\'s char map: words '
                'holding them can never be read and count as wrong'
                % (len(unknown), len(data_map) - 1))
        parts.append('the data is labelled with the %s char map (%d classes), the model reads '
                     'the %s one (%d classes): labels are compared by character; %s'
                     % (_char_map_name(data_map), len(data_map), _char_map_name(model_map),
                        len(model_map), what))
    if not parts:
        return None
    return 'the model does not fit the data: ' + '; '.join(parts)


class Relabel(object):
    """Class ids of ``data_map`` -> ids of ``model_map`` (by character).

    A character the model does not know gets an id past the model's classes (``K``,
    ``K + 1``, ...), which no prediction can match; :attr:`truth_map` (the model's
    characters, then those) decodes the relabelled truth to its real text.
    """

    def __init__(self, data_map, model_map):
        index = {}
        for i, c in enumerate(model_map.chars[1:], 1):
            index.setdefault(c, i)
        extra = []
        table = numpy.zeros(len(data_map), numpy.int32)
        for i, c in enumerate(data_map.chars):
            if i == 0:
                continue
            if c not in index:
                index[c] = len(model_map) + len(extra)
                extra.append(c)
            table[i] = index[c]
        self.table = table
        from chainer_see.data.char_map import CharMap
        self.truth_map = CharMap(list(model_map.chars) + extra, name=model_map.name)

    def __call__(self, labels):
        return self.table[labels]

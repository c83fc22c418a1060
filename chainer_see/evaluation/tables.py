"""The paper's result tables, with the evaluated model's row added.

Table 1: sequence accuracy on the SVHN test set, 64x64 crops (Goodfellow et al. protocol).
Table 2: sequence accuracy on the FSNS test set (every word of the sign right).
The figures are those the SEE paper (Bartz et al., AAAI 2018) reports.
"""
import collections

PaperTable = collections.namedtuple('PaperTable', ['number', 'title', 'rows'])

TABLE1 = PaperTable(1, 'SVHN 64x64 crops, test set, sequence accuracy', (
    ('Goodfellow et al. (2014)', 96.0),
    ('Jaderberg et al. (2015), STN', 96.3),
    ('SEE, Bartz et al. (2018)', 95.2),
))
TABLE2 = PaperTable(2, 'FSNS test set, sequence accuracy', (
    ('Smith et al. (2016)', 72.5),
    ('Wojna et al. (2017)', 84.2),
    ('SEE, Bartz et al. (2018)', 78.0),
))

#: dataset presets measured on the paper's own test data
_REAL = {'svhn': TABLE1, 'fsns': TABLE2}
#: synthetic stand-ins of the same task
_SYNTHETIC = {'synthetic-svhn': TABLE1, 'synthetic-fsns': TABLE2}


def table_for(dataset, config):
    """The paper table that fits ``dataset`` (preset name or file) and the model ``config``.

    Returns ``(PaperTable or None, kind)`` with kind ``'paper'`` (the paper's test data),
    ``'synthetic'`` (a synthetic stand-in: not comparable) or ``'file'`` (a ground-truth
    file: comparable only if it is the paper's test set, prepared the same way).
    Files are matched by the model: four views and the fsns char map -> Table 2; one
    64x64 view with one word slot and the svhn char map -> Table 1.
    """
    if dataset in _REAL:
        return _REAL[dataset], 'paper'
    if dataset in _SYNTHETIC:
        return _SYNTHETIC[dataset], 'synthetic'
    from chainer_see.data.presets import PRESETS
    if dataset in PRESETS:      # other presets (grid, random): the paper has no table
        return None, 'synthetic' if PRESETS[dataset].synthetic else 'paper'
    chars = config.get_char_map().chars
    if config.views == 4 and len(chars) == 134:
        return TABLE2, 'file'
    if config.views == 1 and config.num_regions == 1 and tuple(config.image_size) == (64, 64) \
            and len(chars) == 11:
        return TABLE1, 'file'
    return None, 'file'


def format_table(table, kind, accuracy, label):
    """Text of ``table`` with the row ``label`` (sequence accuracy ``accuracy`` in [0, 1])
    added, and a note saying what the added row was measured on."""
    rows = [(name, '%.1f %%' % value) for name, value in table.rows]
    mark = '' if kind == 'paper' else ' *'
    value = 'n/a' if accuracy is None or accuracy != accuracy else '%.1f %%' % (100 * accuracy)
    rows.append((label + mark, value))
    w = max(len(r[0]) for r in rows + [('method', '')])
    lines = ['Table %d of the paper: %s' % (table.number, table.title),
             '  %-*s  %9s' % (w, 'method', 'accuracy'),
             '  %s  %s' % ('-' * w, '-' * 9)]
    lines += ['  %-*s  %9s' % (w, name, v) for name, v in rows]
    if kind == 'synthetic':
        lines.append('  * measured on a SYNTHETIC dataset, not on the paper\'s test set: '
                     'not comparable with the rows above')
    elif kind == 'file':
        lines.append('  * measured on the given ground-truth file; comparable only if that '
                     'is the paper\'s test set, prepared by the same protocol')
    return '\n'.join(lines)


def model_row_label(dataset, iteration):
    """``this model (DATASET, N iterations)``."""
    its = 'iterations unknown' if iteration is None else '%s iterations' % _thousands(iteration)
    return 'this model (%s, %s)' % (dataset, its)


def _thousands(n):
    try:
        return '{:,}'.format(int(n))
    except (TypeError, ValueError):
        return str(n)

"""What ``train.py`` prints while it trains: a table of the log and a progress bar.

``ConsoleTable`` prints every entry of the ``LogReport`` as one row of fixed-width
columns with short headers (``val seq acc``, not ``validation/main/sequence_accuracy``),
so that the table of a run fits ``MAX_WIDTH`` (100) columns; times read ``13:51``.
Chainer's ``PrintReport`` sizes every column by its key and prints seconds as floats.

``TrainingProgressBar`` is Chainer's progress bar with the estimated time to finish as
``13:51`` (``h:mm:ss`` above an hour) instead of a ``timedelta`` with microseconds, and
with the run's time limit taken into account (``StopTrigger`` ends a run at whichever
of the iteration and time budgets comes first).
"""
import collections
import sys

from chainer.training import extension
from chainer.training.extensions import util

from chainer_see.progress import format_duration

MAX_WIDTH = 100
ERASE = '\033[J'         # clears the progress bar below the cursor (as PrintReport)

Column = collections.namedtuple('Column', 'key header width format')


def fixed(digits):
    """A column format: ``digits`` decimals (``fixed(3)(0.25)`` -> ``'0.250'``)."""
    return lambda v: '%.*f' % (digits, v)


def general(digits):
    """A column format: ``digits`` significant digits (``'1.23e-05'``)."""
    return lambda v: '%.*g' % (digits, v)


def integer(v):
    return '%d' % v


def duration(v):
    return format_duration(v)


def training_columns(regularizers=False, boxes=False):
    """The columns ``train.py`` prints: iteration, elapsed time, training and validation
    loss, the mean area of the boxes (with regularizers), training and validation
    sequence accuracy, the validation IoU of the boxes (data with true boxes),
    curriculum level (from 0) and learning rate."""
    columns = [Column('iteration', 'iteration', 9, integer),
               Column('elapsed_time', 'elapsed', 8, duration),
               Column('main/loss', 'loss', 9, general(4)),
               Column('validation/main/loss', 'val loss', 9, general(4))]
    if regularizers:
        columns.append(Column('main/area', 'area', 8, general(3)))
    columns += [Column('main/sequence_accuracy', 'seq acc', 7, fixed(3)),
                Column('validation/main/sequence_accuracy', 'val seq acc', 11, fixed(3))]
    if boxes:
        columns.append(Column('validation/main/iou', 'val IoU', 7, fixed(3)))
    columns += [Column('level', 'level', 5, integer),
                Column('lr', 'lr', 8, general(3))]
    return columns


class ConsoleTable(extension.Extension):
    """Prints the new entries of the trainer's ``LogReport`` log as table rows.

    Args:
        columns (list of ``Column``): ``key`` in the log entry, ``header``, ``width``
            (characters; at least the header's) and ``format`` (value -> text).  A key
            missing from an entry leaves its cell blank.
        log_report (str): the name of the trainer's ``LogReport`` extension.
        out: the stream.
    """
    trigger = (1, 'iteration')
    priority = extension.PRIORITY_READER

    def __init__(self, columns, log_report='LogReport', out=sys.stdout):
        self.columns = [c._replace(width=max(c.width, len(c.header))) for c in columns]
        self.log_report = log_report
        self.out = out
        self._printed = 0
        self._header_done = False

    @property
    def width(self):
        """Characters of one line."""
        return sum(c.width for c in self.columns) + 2 * (len(self.columns) - 1)

    def header(self):
        return '  '.join(c.header.rjust(c.width) for c in self.columns)

    def row(self, entry):
        cells = []
        for c in self.columns:
            value = entry.get(c.key)
            text = '' if value is None else c.format(value)
            cells.append(text.rjust(c.width))
        return '  '.join(cells)

    def __call__(self, trainer):
        if not self._header_done:
            self.out.write(self.header() + '\n')
            self._header_done = True
        log = trainer.get_extension(self.log_report).log
        while self._printed < len(log):
            self.out.write(ERASE + self.row(log[self._printed]) + '\n')
            self._printed += 1
        if hasattr(self.out, 'flush'):
            self.out.flush()


def estimated_seconds(iteration, iterations, speed, elapsed=0.0, time_limit=None):
    """Seconds left until the run stops: by the iteration budget at ``speed``
    iterations per second, or by ``time_limit`` (seconds) if that comes first;
    ``None`` when unknown (no speed yet and no time limit)."""
    left = None
    if speed and speed > 0 and speed != float('inf'):
        left = max(iterations - iteration, 0) / speed
    elif iteration >= iterations:
        left = 0.0
    if time_limit:
        by_time = max(time_limit - elapsed, 0.0)
        left = by_time if left is None else min(left, by_time)
    return left


class TrainingProgressBar(extension.Extension):
    """A progress bar of the whole run, redrawn every ``update_interval`` iterations.

    Args:
        iterations (int): the iteration budget.
        time_limit (float or None): the time budget in seconds.
        update_interval (int): iterations between redraws.
        bar_length (int): characters of the bar.
        out: the stream (a terminal: the bar moves the cursor up after drawing).
    """
    trigger = (1, 'iteration')
    priority = extension.PRIORITY_READER

    def __init__(self, iterations, time_limit=None, update_interval=5, bar_length=50,
                 out=None):
        self.iterations = int(iterations)
        self.time_limit = time_limit
        self.update_interval = int(update_interval)
        self._bar = _Bar(self, bar_length, out)

    def lines(self, iteration, epoch, elapsed, speed):
        """The text of the bar after ``iteration`` (``speed`` in iterations/s)."""
        share = iteration / float(self.iterations)
        if self.time_limit:
            share = max(share, elapsed / float(self.time_limit))
        share = min(share, 1.0)
        length = self._bar._bar_length
        marks = '#' * int(share * length)
        budget = '%d iterations' % self.iterations
        if self.time_limit:
            budget += ' or %s' % format_duration(self.time_limit)
        left = estimated_seconds(iteration, self.iterations, speed, elapsed, self.time_limit)
        rate = '%10.5g' % speed if 0 < speed < float('inf') else '%10s' % '?'
        return ['     total [%s%s] %6.2f%%\n' % (marks, '.' * (length - len(marks)),
                                                  100.0 * share),
                '%10d iter, %d epoch / %s, %s elapsed\n'
                % (iteration, epoch, budget, format_duration(elapsed)),
                '%s iters/sec. Estimated time to finish: %s.\n'
                % (rate, '?' if left is None else format_duration(left))]

    def __call__(self, trainer):
        self._bar.trainer = trainer
        if trainer.updater.iteration % self.update_interval == 0:
            self._bar.update()

    def finalize(self):
        self._bar.close()


class _Bar(util.ProgressBar):
    """Chainer's terminal drawing (erase, draw, move the cursor up) with our lines."""
    trainer = None

    def __init__(self, owner, bar_length, out):
        super(_Bar, self).__init__(bar_length=bar_length, out=out)
        self.owner = owner

    def get_lines(self):
        updater = self.trainer.updater
        speed, _ = self.update_speed(updater.iteration, updater.epoch_detail)
        return self.owner.lines(updater.iteration, updater.epoch,
                                self.trainer.elapsed_time, speed)

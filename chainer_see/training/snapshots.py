"""Trainer snapshots that survive a kill at any moment, and finding the one to resume.

``Snapshot`` writes ``OUT/snapshot_iter_XXXXXXXX.npz`` (the whole trainer: model,
optimizer state, iterators, the curriculum level and window, the log) like this: the
``.npz`` goes to a temporary file in ``OUT``, is flushed and ``fsync``-ed, then renamed
over its final name (``os.replace``, atomic on POSIX) and the folder is ``fsync``-ed; only
then are older snapshots beyond ``keep`` removed.  A kill during the write leaves a
stray ``.snapshot_iter_....tmp`` (ignored, removed at the next start) and the previous
snapshot intact.  Chainer 7's own ``extensions.snapshot`` also renames a temporary
file, but it neither syncs nor checks what it resumes from (the newest file by
modification time); ``latest_snapshot`` takes the highest iteration whose zip archive
reads back whole (every member's CRC) and skips broken ones.

A snapshot is never written from non-finite parameters (``NonFiniteError`` instead),
so the last snapshot on disk is always a good one.
"""
import os
import re
import zipfile

import numpy

import chainer
from chainer.training import extension

from chainer_see.atomic import atomic_file
from chainer_see.training.extensions.nan_guard import NonFiniteError
from chainer_see.training.extensions.nan_guard import first_non_finite_param

PREFIX = 'snapshot_iter_'
_NAME = re.compile(r'^snapshot_iter_(\d+)\.npz$')


def snapshot_name(iteration):
    return '%s%08d.npz' % (PREFIX, int(iteration))


def list_snapshots(folder):
    """``[(iteration, path)]`` of the snapshot files in ``folder``, oldest first."""
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        m = _NAME.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(folder, name)))
    return sorted(found)


def is_readable(path):
    """Whether ``path`` is a complete ``.npz`` (zip directory present, every CRC right)."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None and len(z.namelist()) > 0
    except (OSError, zipfile.BadZipFile, EOFError, ValueError):
        return False


def latest_snapshot(folder):
    """Path of the newest readable snapshot in ``folder`` or ``None``."""
    for _, path in reversed(list_snapshots(folder)):
        if is_readable(path):
            return path
    return None


def read_value(path, key, default=None):
    """One value stored in a snapshot (e.g. ``extensions/CurriculumSwitch/level``)."""
    with numpy.load(path, allow_pickle=False) as npz:
        if key not in npz.files:
            return default
        return npz[key]


def remove_stale_temporaries(folder):
    """Remove ``.snapshot_iter_*.tmp`` files a killed writer left behind."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.startswith('.' + PREFIX) and name.endswith('.tmp'):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def save_npz_atomic(path, target, compression=True):
    """``chainer.serializers.save_npz`` through a synced temporary file and a rename."""
    with atomic_file(path, sync=True) as f:
        chainer.serializers.save_npz(f, target, compression=compression)


class Snapshot(extension.Extension):
    """Trainer extension writing atomic snapshots of ``trainer`` into ``trainer.out``.

    Args:
        keep (int): snapshots kept (the newest; older ones are removed after a
            successful write); 0 keeps all.
        check (chainer.Link or None): refuse (``NonFiniteError``) to write when a
            parameter of this link is NaN/inf.
        on_error_save (callable or None): ``on_error_save(trainer)`` is called after the
            snapshot this extension writes when the training loop fails (any error but
            ``NonFiniteError``), e.g. to write ``model.npz``.
    """

    trigger = (1000, 'iteration')
    priority = -100                  # after everything else of the same iteration
    name = 'Snapshot'

    def __init__(self, keep=2, check=None, on_error_save=None, writer=True):
        self.keep = int(keep)
        self.check = check
        self.on_error_save = on_error_save
        self.writer = bool(writer)   # False on ranks that must not write (MPI rank > 0)
        self.last = None
        self.last_iteration = None

    def initialize(self, trainer):
        if self.writer:
            remove_stale_temporaries(trainer.out)

    def __call__(self, trainer):
        self.write(trainer)

    def write(self, trainer):
        """Write the snapshot of the current iteration (once per iteration)."""
        it = trainer.updater.iteration
        if not self.writer or it == self.last_iteration:
            return self.last
        if self.check is not None:
            bad = first_non_finite_param(self.check)
            if bad is not None:
                raise NonFiniteError('parameter %s holds NaN/inf at iteration %d; no snapshot '
                                     'written, the last good one is %s' % (bad, it, self.last))
        path = os.path.join(trainer.out, snapshot_name(it))
        save_npz_atomic(path, trainer)
        self.last, self.last_iteration = path, it
        if self.keep > 0:
            for _, old in list_snapshots(trainer.out)[:-self.keep]:
                try:
                    os.remove(old)
                except OSError:
                    pass
        return path

    def on_error(self, trainer, exc, tb):
        if isinstance(exc, NonFiniteError):
            return
        self.write(trainer)
        if self.on_error_save is not None:
            self.on_error_save(trainer)

    def last_good(self, out=None):
        """The snapshot to name in a message: this run's last, else the newest on disk."""
        if self.last is not None:
            return self.last
        return latest_snapshot(out) if out else None

"""Trainer snapshots that survive a kill at any moment, and finding the one to resume.

``Snapshot`` writes ``OUT/snapshot_iter_XXXXXXXX.npz`` (the whole trainer: model,
optimizer state, iterators, the curriculum level and window, the log) like this: the
``.npz`` goes to a temporary file in ``OUT``, is flushed and ``fsync``-ed, then renamed
over its final name (``os.replace``, atomic on POSIX) and the folder is ``fsync``-ed; only
then are older snapshots beyond ``keep`` removed.  A kill during the write leaves a
stray ``.snapshot_iter_....tmp`` (ignored, removed at the next start) and the previous
snapshot intact.  Chainer 7's own ``extensions.snapshot`` also renames a temporary
file, but it neither syncs nor checks what it resumes from (the newest file by
modification time); ``find_resumable`` takes the highest iteration whose zip archive
reads back whole (every member's CRC) and names each newer one it passes over, with the
reason (``latest_snapshot``: the path alone).

A snapshot is never written from non-finite parameters (``NonFiniteError`` instead) nor
while training is unsound (``health``, ``NaNGuard.unsound``: the loss of the iteration
far above the running median of the recent losses, or weights beyond a bound): it is
withheld until the next interval, so the newest snapshot on disk is one training can go
on from, and the one a divergence message recommends.

When the training loop fails (any error but ``NonFiniteError``) the extension writes
``model.npz`` first (``on_error_save``) and the snapshot after it; each is attempted
whatever happens to the other (``save_each``), and ``error_saves`` tells which were
written, so that ``train.py`` can report a full disk in one line.
"""
import os
import re
import zipfile

import numpy

import chainer
from chainer.training import extension

from chainer_see.atomic import atomic_file
from chainer_see.model_io import COMPRESS
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


def snapshot_problem(path):
    """Why ``path`` cannot be resumed from (one phrase), or ``None`` when it is a complete
    ``.npz``: its zip directory is present and every member's CRC is right."""
    try:
        with zipfile.ZipFile(path) as z:
            if not z.namelist():
                return 'unreadable: an empty archive'
            bad = z.testzip()
            if bad is not None:
                return 'corrupt: member %s fails its CRC check' % bad
    except zipfile.BadZipFile as e:
        return 'unreadable: not a complete zip archive (%s)' % e
    except (OSError, EOFError, ValueError, zipfile.LargeZipFile) as e:
        return 'unreadable: %s' % (e.strerror if getattr(e, 'strerror', None) else e)
    except Exception as e:         # zlib.error and the like: a damaged member
        return 'corrupt: %s' % e
    return None


def is_readable(path):
    """Whether ``path`` is a complete ``.npz`` (zip directory present, every CRC right)."""
    return snapshot_problem(path) is None


def find_resumable(folder):
    """``(path, skipped)``: the newest readable snapshot of ``folder`` (``None`` if there
    is none) and ``[(path, reason)]`` of the newer ones passed over, newest first."""
    skipped = []
    for _, path in reversed(list_snapshots(folder)):
        problem = snapshot_problem(path)
        if problem is None:
            return path, skipped
        skipped.append((path, problem))
    return None, skipped


def latest_snapshot(folder):
    """Path of the newest readable snapshot in ``folder`` or ``None`` (see
    ``find_resumable`` for the ones it passes over)."""
    return find_resumable(folder)[0]


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


def save_npz_atomic(path, target, compression=COMPRESS):
    """``chainer.serializers.save_npz`` through a synced temporary file and a rename."""
    with atomic_file(path, sync=True) as f:
        chainer.serializers.save_npz(f, target, compression=compression)


class SnapshotWithheld(Exception):
    """``Snapshot.write_now``: the state of this iteration is not snapshotted (unsound)."""


def save_each(items):
    """Attempt every ``(path, write)`` of ``items`` in order, whatever the others do.

    Returns ``[(path, error)]``, ``error`` ``None`` for the ones written.  Only
    ``Exception``-s are caught (a second Ctrl-C still stops at once).
    """
    done = []
    for path, write in items:
        try:
            write()
        except Exception as e:
            done.append((path, e))
        else:
            done.append((path, None))
    return done


def describe_error(error):
    """One line for a failed write: ``PATH: reason`` for an ``OSError`` naming its file
    (``atomic_file`` names the target), else the error's own text."""
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror[:1].lower() + error.strerror[1:]
        return '%s: %s' % (error.filename, reason) if error.filename else reason
    return str(error) or type(error).__name__


def describe_saves(saves):
    """``'PATH written, PATH not written (reason)'`` for ``save_each``'s result."""
    parts = []
    for path, error in saves:
        if error is None:
            parts.append('%s written' % path)
        else:
            reason = describe_error(error)
            if reason.startswith(path + ': '):
                reason = reason[len(path) + 2:]
            parts.append('%s not written (%s)' % (path, reason))
    return ', '.join(parts)


class Snapshot(extension.Extension):
    """Trainer extension writing atomic snapshots of ``trainer`` into ``trainer.out``.

    Args:
        keep (int): snapshots kept (the newest; older ones are removed after a
            successful write); 0 keeps all.
        check (chainer.Link or None): refuse (``NonFiniteError``) to write when a
            parameter of this link is NaN/inf.
        on_error_save (callable or None): ``on_error_save(trainer)`` writes
            ``trainer.out/on_error_file`` (``model.npz``) when the training loop fails
            (any error but ``NonFiniteError``); it is called before this extension's own
            snapshot, and each is attempted even if the other fails (``error_saves``).
        writer (bool): ``False`` on ranks that must not write (MPI rank > 0).
        health (callable or None): ``health(trainer)`` -> ``None`` when the state may be
            snapshotted, else the reason it is withheld (``NaNGuard.unsound``).
        log (callable or None): receives a line for every withheld snapshot.

    Attributes: ``last`` and ``last_iteration`` (the newest snapshot this extension
    wrote or resumed from), ``withheld`` (``(iteration, reason)`` of the last withheld
    one), ``error_saves`` (``save_each``'s result after a failure of the loop).
    """

    trigger = (1000, 'iteration')
    priority = -100                  # after everything else of the same iteration
    name = 'Snapshot'

    def __init__(self, keep=2, check=None, on_error_save=None, writer=True, health=None,
                 log=None, on_error_file='model.npz'):
        self.keep = int(keep)
        self.check = check
        self.on_error_save = on_error_save
        self.on_error_file = on_error_file
        self.writer = bool(writer)
        self.health = health
        self.log = log
        self.last = None
        self.last_iteration = None
        self.withheld = None
        self.error_saves = []

    def initialize(self, trainer):
        if self.writer:
            remove_stale_temporaries(trainer.out)

    def __call__(self, trainer):
        self.write(trainer)

    def write(self, trainer):
        """Write the snapshot of the current iteration (once per iteration); returns the
        newest snapshot (this one, or the previous one when this one is withheld)."""
        it = trainer.updater.iteration
        if not self.writer or it == self.last_iteration:
            return self.last
        if self.check is not None:
            bad = first_non_finite_param(self.check)
            if bad is not None:
                raise NonFiniteError('parameter %s holds NaN/inf at iteration %d; no snapshot '
                                     'written, the last good one is %s' % (bad, it, self.last))
        reason = self.health(trainer) if self.health is not None else None
        if reason is not None:
            self.withheld = (it, reason)
            if self.log is not None:
                self.log('snapshot of iteration %d withheld: %s; the newest good one is %s'
                         % (it, reason, self.last_good(trainer.out) or 'none yet'))
            return self.last
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
        # Chainer prints (and then trips over) an exception raised here, so nothing may
        # escape: save_each catches and records
        self.error_saves = []
        if isinstance(exc, NonFiniteError) or not self.writer:
            return
        items = []
        if self.on_error_save is not None:
            items.append((os.path.join(trainer.out, self.on_error_file),
                          lambda: self.on_error_save(trainer)))
        items.append((os.path.join(trainer.out, snapshot_name(trainer.updater.iteration)),
                      lambda: self.write_now(trainer)))
        self.error_saves = save_each(items)

    def write_now(self, trainer):
        """``write``, raising ``SnapshotWithheld`` when this iteration's is withheld."""
        path = self.write(trainer)
        if self.writer and self.last_iteration != trainer.updater.iteration:
            raise SnapshotWithheld('withheld: %s' % self.withheld[1])
        return path

    def last_good(self, out=None):
        """The snapshot to name in a message: this run's last, else the newest on disk."""
        if self.last is not None:
            return self.last
        return latest_snapshot(out) if out else None

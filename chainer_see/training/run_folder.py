"""Who may write into a run's ``--out`` folder: the ownership rules and the lock.

``train.py --help`` states the same rules:

* ``--out`` names a folder, new or existing; a file there is refused.
* A new run (no ``--resume``) refuses a folder that holds another run: its
  ``config.json``, ``model.npz`` or a ``snapshot_iter_*.npz``.  ``--overwrite`` removes
  the files a run writes (:data:`RUN_FILES`: the snapshots, ``model.npz``, ``config.json``,
  ``log``, the plots, ``boxes/``, ``next_level``, ``rank*.npz``) before the new run starts;
  other files and folders (an ``eval/`` of ``evaluate.py``, notes) are left as they are.
  ``--overwrite`` and ``--resume`` contradict each other.
* ``--resume`` goes on from the newest readable snapshot; each newer one it skips is
  named with the reason, and a folder without a readable snapshot is refused (it never
  starts over).
* ``OUT/.lock`` (``fcntl.flock`` on it, the file holding ``PID HOST``) keeps a second
  run out of a folder in use.  The kernel drops the lock when its process ends, however it
  ends, so a lock file left by a killed run is stale: the next run takes it over and says
  so.  The lock is taken before anything else is looked at or removed, and given back
  (the file removed) when the run ends, also on an error.

``claim(out, resume, overwrite)`` applies all of them and returns a :class:`Claim` (the
held lock and the snapshot to resume); every refusal is a :class:`RunFolderError` whose
text is one line (``train.py`` prints it and exits with status 2).  Under MPI only the
writing rank claims the folder.
"""
import errno
import fcntl
import glob
import os
import shutil
import socket

from chainer_see.training import snapshots

LOCK_NAME = '.lock'
#: What marks a folder as holding a run.
RUN_MARKS = ('config.json', 'model.npz', snapshots.PREFIX + '*.npz')
#: What ``--overwrite`` removes: everything a run writes into ``--out`` (glob patterns).
RUN_FILES = ('config.json', 'model.npz', 'log', 'next_level', snapshots.PREFIX + '*.npz',
             '.' + snapshots.PREFIX + '*.tmp', 'rank*.npz', 'loss.png', 'accuracy.png',
             'lr.png', 'iou.png', 'regularizers.png', 'boxes')


class RunFolderError(ValueError):
    """The folder cannot be used as asked (one line, for ``train.py: error: ...``)."""


def check_out(out):
    """``RunFolderError`` when ``out`` exists and is not a folder."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunFolderError('--out %s is a file, not a folder; name a new folder or the '
                             'folder of a run to --resume' % out)


def run_marks(out):
    """Names of the files in ``out`` that show it holds a run (sorted)."""
    found = []
    for pattern in RUN_MARKS:
        found += [os.path.basename(p) for p in glob.glob(os.path.join(glob.escape(out),
                                                                      pattern))]
    return sorted(found)


def remove_run(out):
    """Remove the files of :data:`RUN_FILES` from ``out``; returns their names (sorted)."""
    removed = []
    for pattern in RUN_FILES:
        for path in glob.glob(os.path.join(glob.escape(out), pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(os.path.basename(path))
    return sorted(removed)


def _describe_marks(names):
    snaps = [n for n in names if n.startswith(snapshots.PREFIX)]
    parts = [n for n in names if not n.startswith(snapshots.PREFIX)]
    if snaps:
        parts.append('%d snapshot%s' % (len(snaps), '' if len(snaps) == 1 else 's'))
    return ', '.join(parts)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:        # someone else's process
        return True
    return True


def _parse_holder(text):
    """``(pid, host)`` from the contents of a lock file (``(None, None)`` if unreadable)."""
    fields = text.split()
    try:
        return int(fields[0]), (fields[1] if len(fields) > 1 else None)
    except (IndexError, ValueError):
        return None, None


class FolderLock(object):
    """``OUT/.lock``: ``acquire()`` (``RunFolderError`` while another process holds it),
    ``release()`` (idempotent).  ``stale`` is ``(pid, host)`` of a lock file whose owner
    no longer held it (taken over), else ``None``."""

    def __init__(self, folder):
        self.path = os.path.join(folder, LOCK_NAME)
        self.fd = None
        self.stale = None

    @property
    def held(self):
        return self.fd is not None

    def acquire(self):
        if self.fd is not None:
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                pid, host = _parse_holder(os.read(fd, 4096).decode('utf-8', 'replace'))
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as e:
                    if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise self._busy(pid, host)
                    # no flock on this file system (some network ones): the pid decides
                    if pid is not None and pid != os.getpid() and (
                            host not in (None, socket.gethostname()) or _alive(pid)):
                        raise self._busy(pid, host)
                # its holder may have removed the file between our open and flock
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, ('%d %s\n' % (os.getpid(), socket.gethostname())).encode())
            except BaseException:
                os.close(fd)
                raise
            self.fd = fd
            self.stale = (pid, host) if pid is not None else None
            return self

    def _busy(self, pid, host):
        who = 'another process' if pid is None else 'process %d' % pid
        if host and host != socket.gethostname():
            who += ' on %s' % host
        return RunFolderError('%s is in use by %s (lock file %s); wait for it to end or '
                              'choose another --out' % (os.path.dirname(self.path), who,
                                                        self.path))

    def release(self):
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.remove(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)               # drops the flock


class Claim(object):
    """What :func:`claim` returns: ``lock`` (held), ``resume_from`` (a snapshot path or
    ``None``), ``skipped`` (``[(path, reason)]`` of the unreadable newer snapshots),
    ``removed`` (names removed by ``--overwrite``)."""

    def __init__(self, lock, resume_from=None, skipped=(), removed=()):
        self.lock = lock
        self.resume_from = resume_from
        self.skipped = list(skipped)
        self.removed = list(removed)

    def release(self):
        self.lock.release()

    def messages(self):
        """The lines a run prints about its folder (take-over, skips, removals)."""
        out = os.path.dirname(self.lock.path)
        lines = []
        if self.lock.stale is not None:
            pid, host = self.lock.stale
            lines.append('took over the stale lock %s of process %d%s, which no longer holds '
                         'it' % (self.lock.path, pid,
                                 '' if not host or host == socket.gethostname()
                                 else ' on %s' % host))
        for path, reason in self.skipped:
            lines.append('--resume: skipped %s: %s' % (path, reason))
        if self.removed:
            lines.append('--overwrite: removed the previous run from %s (%s)'
                         % (out, ', '.join(self.removed)))
        return lines


def claim(out, resume=False, overwrite=False):
    """Apply the rules of the module docstring to ``out``; the lock is held on return.

    ``RunFolderError`` (lock given back) when the folder cannot be used.
    """
    if resume and overwrite:
        raise RunFolderError('--overwrite and --resume contradict each other: --resume '
                             'continues the run in --out, --overwrite replaces it')
    check_out(out)
    if resume and not os.path.isdir(out):
        raise RunFolderError('--resume: no readable snapshot in %s (no such folder); start '
                             'a new run without --resume' % out)
    try:
        os.makedirs(out, exist_ok=True)
        lock = FolderLock(out).acquire()
    except OSError as e:
        raise RunFolderError('--out %s: %s' % (out, e.strerror or e))
    try:
        if resume:
            path, skipped = snapshots.find_resumable(out)
            if path is None:
                why = '; '.join('%s: %s' % (os.path.basename(p), r) for p, r in skipped)
                raise RunFolderError(
                    '--resume: no readable snapshot in %s%s; start a new run %s'
                    % (out, ' (%s)' % why if why else '',
                       'with --overwrite or another --out' if run_marks(out)
                       else 'without --resume'))
            return Claim(lock, resume_from=path, skipped=skipped)
        marks = run_marks(out)
        if marks and not overwrite:
            raise RunFolderError('%s holds another run (%s); continue it with --resume, '
                                 'replace it with --overwrite, or choose another --out'
                                 % (out, _describe_marks(marks)))
        removed = remove_run(out) if overwrite else []
        return Claim(lock, removed=removed)
    except BaseException:
        lock.release()
        raise

"""Files that are either complete or absent: write to a temporary file, then rename.

Every file the project writes for later reading (ground truth, reports, pictures,
configuration, snapshots, model files) goes through :func:`atomic_file`: the data go to
a temporary file beside the target (same folder, so the rename stays on one file
system), which replaces the target only when the block ends without error.  A crash or
a kill during the write leaves the previous file (or none) and no temporary file.

A failed write (a full disk, a read-only or vanished folder) raises an ``OSError`` whose
``filename`` is the target, not the temporary file: the message a script prints,
``PATH: No space left on device``, names the file the user knows.
"""
import contextlib
import os
import tempfile
import zipfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder):
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path, mode='wb', sync=False, **open_kwargs):
    """Yield a file object whose contents replace ``path`` when the block succeeds.

    Args:
        path (str): the target; its folder is created if missing.
        mode (str): ``'wb'`` or ``'w'`` (then ``open_kwargs`` such as ``encoding``).
        sync (bool): ``fsync`` the file and the folder, so the new contents survive a
            power cut (snapshots).

    The file gets the permissions ``open()`` would give (not ``mkstemp``'s 0600).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                                   dir=folder)
    except OSError as e:
        raise _naming(e, path)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        _disarm_zipfiles(e.__traceback__)
        try:
            os.remove(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename in (None, tmp):
            raise _naming(e, path)
        raise
    if sync:
        fsync_dir(folder)


def _disarm_zipfiles(tb):
    """Detach the archives of a failed ``numpy.savez`` from their file.

    The half-written ``zipfile.ZipFile`` stays alive in the frames of the traceback;
    when they go, its ``__del__`` writes the archive's end records into the closed (or
    full) temporary file and prints a second traceback ("Exception ignored in
    ZipFile.__del__").  Without its file it closes quietly.
    """
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, zipfile.ZipFile):
                value.fp = None
        tb = tb.tb_next


def _naming(error, path):
    """``error`` as an ``OSError`` (of the same subclass) whose ``filename`` is ``path``,
    chained to the original; unchanged when it has no ``errno``."""
    if error.errno is None:
        return error
    renamed = OSError(error.errno, error.strerror or os.strerror(error.errno), path)
    renamed.__cause__ = error
    return renamed


def write_text(path, text, newline='\n'):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, 'w', encoding='utf-8', newline=newline) as f:
        f.write(text)

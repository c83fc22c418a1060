"""Files that are either complete or absent: write to a temporary file, then rename.

Every file the project writes for later reading (ground truth, reports, pictures,
configuration, snapshots, model files) goes through :func:`atomic_file`: the data go to
a temporary file beside the target (same folder, so the rename stays on one file
system), which replaces the target only when the block ends without error.  A crash or
a kill during the write leaves the previous file (or none) and no temporary file.
"""
import contextlib
import os
import tempfile


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
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                               dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if sync:
        fsync_dir(folder)


def write_text(path, text, newline='\n'):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, 'w', encoding='utf-8', newline=newline) as f:
        f.write(text)

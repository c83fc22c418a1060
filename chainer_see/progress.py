"""Progress bars for long loops (tqdm), and the duration format of the training console.

    for item in progress(items, desc='convert', unit='img'):
        ...

draws tqdm's bar on stderr (``convert:  42%|####      | 420/1000 [00:12<00:17, 35.1img/s]``).
It stays quiet when the stream is not a terminal (logs, CI, pipes) unless
``enabled=True``, and always when ``enabled=False``.
"""
import sys

from tqdm import tqdm


def format_duration(seconds):
    """Seconds as ``mm:ss`` (``13:51``), or ``h:mm:ss`` from one hour on (``1:02:03``)."""
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return '%d:%02d:%02d' % (h, m, s) if h else '%02d:%02d' % (m, s)


def Progress(total=None, desc='', enabled=None, stream=None, unit='it', min_interval=0.1):
    """A tqdm bar of ``total`` steps (``None``: unknown) to advance with ``update(n)``
    and ``close()`` (or use as a context manager).

    ``enabled=None`` draws only when ``stream`` (default ``sys.stderr``) is a terminal.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        isatty = getattr(stream, 'isatty', None)
        enabled = bool(isatty and isatty())
    return tqdm(total=total, desc=desc or None, disable=not enabled, file=stream, unit=unit,
                mininterval=min_interval, dynamic_ncols=True)


def progress(iterable, total=None, desc='', enabled=None, stream=None, **kwargs):
    """Yield from ``iterable`` while drawing a :func:`Progress` bar; ``total`` defaults
    to ``len(iterable)`` where it has one."""
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    with Progress(total=total, desc=desc, enabled=enabled, stream=stream, **kwargs) as bar:
        for item in iterable:
            yield item
            bar.update()

"""A small progress bar for long loops; no dependencies.

    for item in progress(items, desc='convert'):
        ...

shows ``convert  42% |########           | 420/1000 [00:12<00:17, 35.1 it/s]`` on stderr,
redrawn at most every ``min_interval`` seconds.  It stays quiet when the stream is not
a terminal (logs, CI, pipes) unless ``enabled=True``, and always when ``enabled=False``.
Without a known total it shows the count, the elapsed time and the rate.
"""
import sys
import time


def format_duration(seconds):
    """Seconds as ``mm:ss`` (``13:51``), or ``h:mm:ss`` from one hour on (``1:02:03``)."""
    seconds = int(round(max(seconds, 0)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return '%d:%02d:%02d' % (h, m, s) if h else '%02d:%02d' % (m, s)


class Progress(object):
    """Progress of a loop of ``total`` steps (``None`` when unknown).

    Args:
        total (int or None): number of steps.
        desc (str): label in front of the bar.
        enabled (bool or None): ``None`` = only when ``stream`` is a TTY.
        stream: where to draw (default ``sys.stderr``).
        min_interval (float): seconds between redraws.
        width (int): characters of the bar itself.
        unit (str): name of one step in the rate (``it/s``).
        clock (callable): time source (for tests).
    """

    def __init__(self, total=None, desc='', enabled=None, stream=None, min_interval=0.1,
                 width=24, unit='it', clock=time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, 'isatty', None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total = total
        self.desc = desc
        self.min_interval = min_interval
        self.width = width
        self.unit = unit
        self.clock = clock
        self.n = 0
        self.start = clock()
        self._last_draw = None
        self._last_len = 0
        self._closed = False

    def update(self, n=1):
        """Advance by ``n`` steps; redraw when ``min_interval`` has passed."""
        self.n += n
        if self.enabled:
            now = self.clock()
            if self._last_draw is None or now - self._last_draw >= self.min_interval:
                self._draw(now)

    def line(self, now=None):
        """The text of the bar as it would be drawn now."""
        now = self.clock() if now is None else now
        elapsed = now - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        head = (self.desc + ' ') if self.desc else ''
        rate_text = '%.1f %s/s' % (rate, self.unit) if rate else '? %s/s' % self.unit
        if self.total:
            frac = min(max(self.n / float(self.total), 0.0), 1.0)
            filled = int(frac * self.width)
            bar = '#' * filled + ' ' * (self.width - filled)
            eta = format_duration((self.total - self.n) / rate) if rate else '?'
            return '%s%3d%% |%s| %d/%d [%s<%s, %s]' % (
                head, int(frac * 100), bar, self.n, self.total, format_duration(elapsed),
                eta, rate_text)
        return '%s%d [%s, %s]' % (head, self.n, format_duration(elapsed), rate_text)

    def _draw(self, now):
        text = self.line(now)
        pad = ' ' * max(self._last_len - len(text), 0)
        self.stream.write('\r' + text + pad)
        self.stream.flush()
        self._last_len = len(text)
        self._last_draw = now

    def close(self):
        """Draw the final state and end the line (once)."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw(self.clock())
            self.stream.write('\n')
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress(iterable, total=None, desc='', enabled=None, stream=None, **kwargs):
    """Yield from ``iterable`` while drawing a :class:`Progress` bar.

    ``total`` defaults to ``len(iterable)`` where the iterable has a length.
    """
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    bar = Progress(total=total, desc=desc, enabled=enabled, stream=stream, **kwargs)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        bar.close()

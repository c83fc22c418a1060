"""The one exception type for bad input data, and the ``--skip-bad`` bookkeeping.

Every reader and converter raises :class:`DataError` for input it cannot use.  Its
message names the file and, where there is one, the line (or record, or image index)
and the reason, e.g. ``train.tsv:17: expected 1+20 columns (4 words x 5 chars), found 18``.
Scripts print ``str(error)`` alone (no traceback) and exit with :data:`EXIT_BAD_INPUT`.
"""
import sys

#: Exit status of the scripts for bad input (argparse uses the same for bad options).
EXIT_BAD_INPUT = 2


class DataError(ValueError):
    """Bad input data.

    Args:
        path (str): the file (or shard, or image) the problem is in.
        line: line number (1-based), or a string such as ``'record 17'``; ``None``
            for a problem with the file as a whole.
        reason (str): what is wrong, in words.
    """

    def __init__(self, path, line, reason):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else '%s:%s' % (self.path, line)
        super(DataError, self).__init__('%s: %s' % (where, reason))


class BadInputPolicy(object):
    """Raise on bad input, or (``skip_bad=True``) report each bad item and count it.

    Args:
        skip_bad (bool): skip and report instead of raising.
        report (callable): receives one line of text per skipped item; default writes
            ``skipped: <message>`` to stderr.
    """

    def __init__(self, skip_bad=False, report=None):
        self.skip_bad = skip_bad
        self.report = report if report is not None else _to_stderr
        self.skipped = 0

    def __call__(self, error):
        """Handle ``error`` (a :class:`DataError`): raise it, or report and count it."""
        if not self.skip_bad:
            raise error
        self.skipped += 1
        self.report('skipped: %s' % error)

    def summary(self, what, total):
        """Report ``skipped K of TOTAL <what>`` once at the end when anything was skipped."""
        if self.skipped:
            self.report('skipped %d of %d %s' % (self.skipped, total, what))


def error_line(error):
    """``error: <message>`` on one line, for the scripts: a message of several lines (an
    exception from a library) is joined with ``; `` so that the output stays one line."""
    parts = [line.strip() for line in str(error).splitlines() if line.strip()]
    return 'error: ' + ('; '.join(parts) or type(error).__name__)


def _to_stderr(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()

"""All-or-nothing output folders and the scripts' error handling.

Converters and generators build their output in a temporary folder beside the
destination and rename it into place at the end; any error (or Ctrl-C) removes the
temporary folder, so a failed run leaves nothing behind.
"""
import contextlib
import os
import shutil
import sys
import tempfile

from chainer_see.data.errors import EXIT_BAD_INPUT, DataError


@contextlib.contextmanager
def atomic_output_dir(dest, overwrite=False):
    """Yield a temporary folder that becomes ``dest`` when the block ends without error.

    ``dest`` must not exist or be an empty folder, unless ``overwrite`` (then the old
    folder is replaced, only after the new one is complete).
    """
    dest = os.path.abspath(dest)
    parent = os.path.dirname(dest)
    if os.path.exists(dest) and not overwrite and \
            (not os.path.isdir(dest) or os.listdir(dest)):
        raise DataError(dest, None, 'output exists and is not an empty folder '
                        '(choose another, or pass --overwrite)')
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.%s.tmp-' % os.path.basename(dest), dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.exists(dest):
        old = tmp + '.old'
        os.rename(dest, old)
        os.rename(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, dest)


def run_script(main, argv=None):
    """Run ``main(argv)``; on :class:`DataError` print its message (no traceback) and exit 2."""
    try:
        return main(argv)
    except DataError as e:
        sys.stderr.write('error: %s\n' % e)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        sys.stderr.write('interrupted; no output was written\n')
        sys.exit(130)


def add_output_options(parser, gt_files=('gt.tsv', 'gt.txt')):
    """Add the options every converter and generator shares to an argparse parser.

    ``--format`` (published SEE ground truth or the readable variant), ``--overwrite``
    and ``--no-progress``; ``gt_files`` names the files each format writes, for the help.
    """
    parser.add_argument('--format', choices=('words', 'readable'), default='words',
                        help="ground-truth format: 'words' = published SEE format (%s, class "
                             "ids), 'readable' = path and words as UTF-8 text (%s)" % gt_files)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace OUT if it exists (only once the new output is complete)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')

"""Command line of ``train.py``: ``main(argv)`` parses, builds ``SEETraining`` and runs it.

Exit status (``--help`` lists them too):

* 0: done: every iteration, or the ``--time-limit`` (a planned end).
* 130: interrupted by Ctrl-C or SIGTERM: the iteration under way was finished and
  ``model.npz`` and a snapshot were written (``--resume`` goes on); a second Ctrl-C
  stops at once, without them.
* 2: bad options, input or ``--out`` folder (one line, no traceback), checked before
  any work: ``--out`` a file, a folder holding another run without ``--resume`` or
  ``--overwrite``, a folder in use by another run (its lock), ``--resume`` without a
  readable snapshot (see ``run_folder``).
* 3: training diverged (NaN/inf; the message names the last good snapshot, which is
  kept; no ``model.npz`` from the broken weights).
* 1: a file could not be written (a full disk: one line naming the file and saying
  which of ``model.npz`` and the snapshot were still written), or any other error
  (traceback; ``model.npz`` and then a snapshot are written first where possible).
"""
import argparse
import errno
import json
import os
import sys

from chainer_see.data.errors import EXIT_BAD_INPUT
from chainer_see.training.options import COMMON_DEFAULTS
from chainer_see.training.parser import build_parser

EXIT_DIVERGED = 3
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
#: ``errno``-s of a write that failed for want of room or rights: one line, not a traceback
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                errno.EPERM, errno.EIO)
#: options ``--resume`` does not take from the saved configuration (the hardware may
#: differ; ``--overwrite`` belongs to the start of a run)
NOT_RESUMED = ('resume', 'overwrite', 'out', 'gpus', 'mpi', 'loader', 'loader_workers',
               'quiet', 'save_rank_models')
#: options of this parser that change the model config (``SEEConfig`` fields) and reach
#: ``SEETraining`` through its ``config_overrides`` (:func:`config_overrides`); not in
#: ``options.COMMON_DEFAULTS``, so ``--resume`` takes them from config.json here
MODEL_OVERRIDES = ('head',)

def _given_options(parser, argv):
    """Names of the options given explicitly on the command line."""
    probe = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:
        if action.option_strings and action.dest != 'help':
            kw = dict(dest=action.dest, default=argparse.SUPPRESS)
            if action.nargs == 0:
                probe.add_argument(*action.option_strings, action='store_const', const=True,
                                   **kw)
            else:
                probe.add_argument(*action.option_strings, **kw)
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


def parse_args(argv=None):
    """Parsed options; with ``--resume`` options not given come from ``OUT/config.json``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from chainer_see.training.run_folder import RunFolderError, check_out
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_out(args.out)
    except RunFolderError as e:
        parser.error(str(e))
    if args.resume and args.overwrite:
        parser.error('--overwrite and --resume contradict each other: --resume continues '
                     'the run in --out, --overwrite replaces it')
    if args.resume:
        path = os.path.join(args.out, 'config.json')
        if os.path.exists(path):
            try:
                with open(path) as f:
                    saved = json.load(f).get('options', {})
            except (OSError, ValueError) as e:
                parser.error('--resume: cannot read %s (%s)' % (path, e))
            given = _given_options(parser, argv)
            for key, value in saved.items():
                if ((key in COMMON_DEFAULTS or key in MODEL_OVERRIDES) and key not in given
                        and key not in NOT_RESUMED):
                    setattr(args, key, value)
    return parser, args


def config_overrides(args):
    """``SEEConfig`` fields of the model options of this parser (``--head``), for
    ``SEETraining(config_overrides=...)``: they apply over the model preset's.  A head
    other than lstm also sets ``backward_lstm=False`` (the fsns presets' backward LSTM
    belongs to the lstm head)."""
    head = getattr(args, 'head', None)
    if head is None:
        return {}
    fields = {'head': head}
    if head != 'lstm':
        fields['backward_lstm'] = False
    return fields


def main(argv=None):
    from chainer_see.data.errors import DataError
    from chainer_see.training.build import SEETraining
    from chainer_see.training.extensions.nan_guard import NonFiniteError
    from chainer_see.training.run_folder import RunFolderError
    from chainer_see.training.snapshots import describe_error, describe_saves
    parser, args = parse_args(argv)
    try:
        overrides = config_overrides(args)
        # passed only when there are some: SEETraining's own default stays otherwise
        run = SEETraining(args, **({'config_overrides': overrides} if overrides else {}))
    except (DataError, FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(EXIT_BAD_INPUT, 'train.py: error: %s\n' % e)
    try:
        run.run()
    except RunFolderError as e:
        sys.stderr.write('train.py: error: %s\n' % e)
        _abort_others(run, EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    except OSError as e:
        if e.errno not in WRITE_ERRORS:
            _abort_others(run, EXIT_FAILED, reraise=True)
            raise
        # a failed write (a full disk): one line, with what was still written
        saved = describe_saves(run.saves)
        sys.stderr.write('train.py: error: %s%s\n' % (describe_error(e), '; ' + saved
                                                        if saved else ''))
        _abort_others(run, EXIT_FAILED)
        return EXIT_FAILED
    except NonFiniteError as e:
        sys.stderr.write('train.py: %s\n' % e)
        _abort_others(run, EXIT_DIVERGED)
        return EXIT_DIVERGED
    except DataError as e:
        sys.stderr.write('train.py: error: %s\n' % e)
        _abort_others(run, EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write('train.py: stopped at once at iteration %d (a second Ctrl-C): '
                         'nothing more written; earlier snapshots are in %s\n'
                         % (run.updater.iteration, run.out))
        _abort_others(run, EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BaseException:
        _abort_others(run, EXIT_FAILED, reraise=True)
        raise
    if run.interrupted:
        sys.stderr.write('train.py: interrupted (%s) at iteration %d; model.npz and the '
                         'snapshot are in %s, --resume goes on\n'
                         % (run.interrupted, run.updater.iteration, run.out))
        return EXIT_INTERRUPTED
    return 0


def _abort_others(run, status, reraise=False):
    """Under MPI an error on one rank would leave the others waiting forever."""
    comm = getattr(run, 'comm', None)
    if comm is not None and comm.size > 1 and status not in (0, EXIT_DIVERGED):
        import traceback
        if reraise:
            traceback.print_exc()
        sys.stderr.flush()
        comm.mpi_comm.Abort(status)

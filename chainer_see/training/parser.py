"""The argument parser of ``train.py``, built from the table ``option_table.OPTIONS``
group by group (per-dataset defaults in the help from each option's ``by_dataset``);
``cli`` parses with it and runs the training.
"""
import argparse

from chainer_see.data.errors import EXIT_BAD_INPUT
from chainer_see.training.option_table import GROUPS
from chainer_see.training.option_table import OPTIONS
from chainer_see.training.extensions.nan_guard import LOSS_WINDOW
from chainer_see.training.extensions.nan_guard import SPIKE_FACTOR
from chainer_see.training.extensions.nan_guard import WEIGHT_BOUND

EPILOG = """examples:
  python train.py                                  synthetic-svhn on the CPU, ~10 min
  python train.py --dataset synthetic-random --out runs/random
                                                   curriculum 1 -> 4 numbers per image
  python train.py --dataset svhn --data-dir data --gpus 0
  python train.py --dataset fsns --data-dir data --gpus 0,1,2,3 --out runs/fsns
  mpiexec -n 8 python train.py --mpi --gpus 0,1,2,3 --dataset fsns --out runs/fsns
                                                   2 machines x 4 GPUs (shared --out)
  python train.py --out runs/fsns --resume         continue the newest snapshot
  touch runs/fsns/next_level                       (or kill -USR1 PID) next curriculum level now
  python train.py --dataset synthetic-grid4 --load-localization runs/a/model.npz
  python train.py --dataset synthetic-grid4 --load-recognition runs/svhn/model.npz
                                                   a trained reader; only finding is learned anew

what lands in --out: config.json, log (JSON), loss.png, accuracy.png, lr.png,
boxes/iter_XXXXXX.png and boxes/training.gif, snapshot_iter_XXXXXXXX.npz, model.npz
(read by evaluate.py), .lock while the run goes on.

one run per --out folder:
  a new run refuses a folder that holds another run (config.json, model.npz or a
  snapshot); --resume continues that run, --overwrite replaces it (removes the files
  listed above, leaves any others), or choose another --out. A folder in use (its
  .lock held by a running process) is refused; a .lock left by a process that has
  ended is taken over, with a note. --out naming a file is refused.
  A resume goes on from the newest readable snapshot, naming each newer one it skips
  (unreadable or corrupt), and refuses a folder with none: it never starts over.

snapshots:
  a snapshot is written only from a sound state: all weights finite and at most %(bound)s
  in magnitude, and the loss of its iteration at most %(factor)g x the median loss of the
  %(window)d iterations before (otherwise it waits for the next interval). The newest
  snapshot, which --resume takes and a divergence names as the last good one, is
  therefore one training can go on from. After an error model.npz is written first and
  the snapshot after it, each whatever happens to the other.

exit status:
  0    done: every iteration, or the --time-limit (a planned end)
  130  interrupted by Ctrl-C or SIGTERM: model.npz and a snapshot written, --resume
       goes on (a second Ctrl-C stops at once, writing nothing)
  2    bad options, data or --out folder (one line, before any work)
  3    training diverged (NaN/inf; the last good snapshot is named and kept)
  1    a file could not be written, e.g. a full disk (one line naming the file and
       what was still written), or any other error (traceback)""" % dict(
    bound=('%g' % WEIGHT_BOUND).replace('e+0', 'e'), factor=SPIKE_FACTOR, window=LOSS_WINDOW)

def _per_dataset(option):
    """``'NAME VALUE, ...'``: the ``by_dataset`` defaults of ``option``, each value in its
    ``per_dataset`` format."""
    return ', '.join('%s %s' % (name, option.per_dataset % value)
                     for name, value in option.by_dataset)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Adds ``(default: X)`` unless the help already says what the default is."""

    def _get_help_string(self, action):
        if '(default' in (action.help or ''):
            return action.help
        return super(_Formatter, self)._get_help_string(action)


class _Parser(argparse.ArgumentParser):

    def error(self, message):   # one line, exit 2
        self.exit(EXIT_BAD_INPUT, '%s: error: %s\n' % (self.prog, message))


def build_parser():
    p = _Parser(prog='train.py', formatter_class=_Formatter, epilog=EPILOG,
                description='Train SEE (Bartz et al., AAAI 2018): one network that finds text\n'
                            'regions and reads them, trained on text labels only.')
    for title in GROUPS:
        group = p.add_argument_group(title)
        for option in OPTIONS:
            if option.group == title:
                _add_option(group, option)
    return p


def _add_option(group, option):
    """``group.add_argument`` of one ``option_table.Option``."""
    kw = dict(dest=option.dest, default=option.default, help=option.help)
    if option.per_dataset:
        kw['help'] = option.help.format(per_dataset=_per_dataset(option))
    for name in ('type', 'action', 'choices', 'metavar'):
        value = getattr(option, name)
        if value is not None:
            kw[name] = value
    group.add_argument(*option.flags, **kw)

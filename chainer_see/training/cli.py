"""Command line of ``train.py``: ``main(argv)`` parses, builds ``SEETraining`` and runs it.

Exit status: 0 done (also after Ctrl-C, which ends the run cleanly), 2 bad options or
input (one line, no traceback), 3 training diverged (NaN/inf; the last good snapshot
is kept), 1 any other error (traceback; a snapshot and ``model.npz`` are written first
where possible).
"""
import argparse
import json
import os
import sys

from chainer_see.cli_types import count, fraction, non_negative, positive, positive_int
from chainer_see.data.errors import EXIT_BAD_INPUT
from chainer_see.training.build import COMMON_DEFAULTS
from chainer_see.training.build import TRAINING_DEFAULTS
from chainer_see.training.data import LOADERS

EXIT_DIVERGED = 3
#: options ``--resume`` does not take from the saved configuration (the hardware may differ)
NOT_RESUMED = ('resume', 'out', 'gpus', 'mpi', 'loader', 'loader_workers', 'quiet',
               'save_rank_models')

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
  python train.py --dataset synthetic-grid --load-localization runs/a/model.npz
  python train.py --dataset synthetic-grid --load-recognition runs/svhn/model.npz
                                                   a trained reader; only finding is learned anew

what lands in --out: config.json, log (JSON), loss.png, accuracy.png, lr.png,
boxes/iter_XXXXXX.png and boxes/training.gif, snapshot_iter_XXXXXXXX.npz, model.npz
(read by evaluate.py)."""


def _per_dataset(key, fmt='%s'):
    vals = ', '.join('%s %s' % (name, fmt % d[key]) for name, d in TRAINING_DEFAULTS.items()
                     if key in d)
    return '(default: per --dataset: %s)' % vals


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
    from chainer_see.data import presets
    d = COMMON_DEFAULTS
    p = _Parser(prog='train.py', formatter_class=_Formatter, epilog=EPILOG,
                description='Train SEE (Bartz et al., AAAI 2018): one network that finds text\n'
                            'regions and reads them, trained on text labels only.')
    g = p.add_argument_group('data')
    g.add_argument('--dataset', default=d['dataset'],
                   help='a preset (%s) or a path to a ground-truth file or curriculum JSON'
                   % ', '.join(presets.PRESETS))
    g.add_argument('--data-dir', default=d['data_dir'],
                   help="folder of the prepared real datasets (svhn/..., fsns/...; "
                        "datasets/*/prepare.py make them)")
    g.add_argument('--validation-size', type=positive_int, default=d['validation_size'],
                   help='images per synthetic validation level')
    g.add_argument('--loader', choices=LOADERS, default=d['loader'],
                   help='how training batches are made: in this process, in threads or in '
                        'worker processes')
    g.add_argument('--loader-workers', type=positive_int, default=d['loader_workers'],
                   help='threads/processes of --loader thread/process')
    g.add_argument('--skip-bad', action='store_true',
                   help='report and skip bad ground-truth lines instead of stopping')

    g = p.add_argument_group('model')
    g.add_argument('--model', choices=('svhn', 'svhn-grid', 'fsns'), default=None,
                   help='model preset (default: the dataset preset\'s; for a path: fsns for '
                        'multi-view data, svhn for one word, else svhn-grid)')
    g.add_argument('--load-localization', metavar='MODEL_NPZ', default=None,
                   help="start from another run's localization weights (its model.npz)")
    g.add_argument('--load-recognition', metavar='MODEL_NPZ', default=None,
                   help="start from another run's recognition weights (its model.npz), e.g. "
                        "a synthetic-svhn reader for synthetic-grid (same crop size)")
    g.add_argument('--freeze', choices=('localization', 'recognition'), default=None,
                   help='do not update this network (e.g. a reader from '
                        '--load-recognition): only the other one learns')
    g.add_argument('--slot-layout', choices=('none', 'grid'), default=None,
                   help="where the N regions start: 'none' (paper and code: all on the same "
                        "centred box) or 'grid' (region n on cell n, in reading order, of a "
                        "ceil(sqrt N)-column grid: distinct starting boxes, a layout prior "
                        "but no box label) (default: none)")

    g = p.add_argument_group('optimization')
    g.add_argument('--iterations', type=positive_int, default=None,
                   help='stop after this many iterations ' + _per_dataset('iterations'))
    g.add_argument('--time-limit', type=positive, default=None, metavar='MINUTES',
                   help='also stop after this many minutes of training (default: none)')
    g.add_argument('--batch-size', type=positive_int, default=None,
                   help='images per iteration and device ' + _per_dataset('batch_size'))
    g.add_argument('--lr', type=positive, default=None,
                   help='Adam step size alpha ' + _per_dataset('lr', '%g'))
    g.add_argument('--lr-final', type=non_negative, default=None,
                   help='decay alpha linearly to this value at the end of the run: the '
                        'last iteration or the --time-limit, whichever comes first '
                        '(default: constant alpha)')
    g.add_argument('--lr-decay-start', type=fraction, default=d['lr_decay_start'],
                   metavar='FRACTION',
                   help='share of the run (iterations or time) after which the decay to '
                        '--lr-final begins')
    g.add_argument('--weight-decay', type=non_negative, default=d['weight_decay'],
                   help='L2 weight decay (published code: 5e-4)')
    g.add_argument('--clip', type=non_negative, default=d['clip'],
                   help='gradient clipping at this global norm, 0 = off (published code: 2)')
    g.add_argument('--seed', type=int, default=d['seed'],
                   help='seed of the initial weights and the synthetic training images')
    g.add_argument('--loss-mode', choices=('svhn', 'fsns', 'paper'), default=None,
                   help="how the loss parts are combined (default: the dataset's loss preset; "
                        "see chainer_see.training.loss)")
    g.add_argument('--area-weight', type=non_negative, default=None,
                   help='lambda1, weight of the box-area regularizer ' +
                        _per_dataset('area_weight', '%g').replace(')', '; else the loss '
                                                                   'preset\'s)'))
    g.add_argument('--area-scale', type=non_negative, default=None,
                   help='lambda1 grows by this times the training accuracy (published FSNS: '
                        '2) (default: the dataset\'s, as --area-weight)')
    g.add_argument('--aspect-weight', type=non_negative, default=None,
                   help="lambda2, weight of the aspect-ratio regularizer (default: the loss "
                        "preset's: fsns 0.1, svhn 0)")
    g.add_argument('--direction-weight', type=non_negative, default=None,
                   help="weight of the mirrored-grid penalty (default: the loss preset's: "
                        "fsns 1, svhn 0)")
    g.add_argument('--height-hinge', type=non_negative, default=None, metavar='PIXELS',
                   help="penalize boxes lower than this, 0 = off (default: the loss preset's: "
                        "fsns 10, svhn off)")
    g.add_argument('--outside-weight', type=non_negative, default=None,
                   help='weight of the penalty on grid corners outside the image (this '
                        'project\'s, not the paper\'s: it keeps a localization trained '
                        'against a frozen reader from moving its boxes off the image) '
                        '(default: 0)')

    g = p.add_argument_group('curriculum and restarts')
    g.add_argument('--no-curriculum', action='store_true',
                   help='train on all levels mixed from the start')
    g.add_argument('--curriculum-window', type=positive_int, default=d['curriculum_window'],
                   help='validation losses in the plateau window')
    g.add_argument('--curriculum-threshold', type=non_negative,
                   default=d['curriculum_threshold'],
                   help='next level when the mean |loss - last loss| over the window is at '
                        'most this')
    g.add_argument('--test-interval', type=positive_int, default=None,
                   help='iterations between validations (and curriculum checks) '
                        + _per_dataset('test_interval'))
    g.add_argument('--max-restarts', type=count, default=d['max_restarts'],
                   help='localization-only restarts allowed (recognition re-initialized, '
                        'localization kept), 0 = none')
    g.add_argument('--restart-interval', type=count, default=d['restart_interval'],
                   help='restart every this many iterations (up to --max-restarts) instead of '
                        'by the rule, 0 = by the rule')
    g.add_argument('--restart-tolerance', type=non_negative, default=d['restart_tolerance'],
                   help='rule: boxes have settled when they move at most this share of the '
                        'image side per validation (mean over the window)')
    g.add_argument('--restart-improvement', type=non_negative,
                   default=d['restart_improvement'],
                   help='rule: recognition improves while the validation text loss fell by '
                        'this share over the window')

    g = p.add_argument_group('output')
    g.add_argument('--out', default=d['out'], help='output folder')
    g.add_argument('--resume', action='store_true',
                   help='continue from the newest snapshot in --out (options not given take '
                        'the values of --out/config.json)')
    g.add_argument('--log-interval', type=positive_int, default=None,
                   help='iterations per log entry and plot point (default: --test-interval, '
                        'at most 50)')
    g.add_argument('--snapshot-interval', type=positive_int, default=None,
                   help='iterations between snapshots (default: --test-interval)')
    g.add_argument('--keep-snapshots', type=count, default=d['keep_snapshots'],
                   help='snapshots kept, 0 = all')
    g.add_argument('--plot-interval', type=count, default=None,
                   help='iterations between box pictures, 0 = none (default: --test-interval)')
    g.add_argument('--plot-images', type=count, default=d['plot_images'],
                   help='validation images in the box pictures')
    g.add_argument('--heatmaps', action='store_true',
                   help='add VisualBackprop heat maps to the box pictures')
    g.add_argument('--no-gif', action='store_true',
                   help='do not assemble boxes/training.gif at the end')
    g.add_argument('--quiet', action='store_true', help='no progress lines on stdout')

    g = p.add_argument_group('devices')
    g.add_argument('--gpus', default=d['gpus'], metavar='IDS',
                   help='GPU ids: none = CPU, 0 = one GPU, 0,1,2,3 = data parallel with '
                        "Chainer's multiprocess updater (default: none, the CPU)")
    g.add_argument('--mpi', action='store_true',
                   help='ChainerMN data parallel across processes/machines: mpiexec -n K '
                        'python train.py --mpi [--gpus 0,1,2,3] (one process per device)')
    g.add_argument('--save-rank-models', action='store_true', help=argparse.SUPPRESS)
    return p


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
    parser = build_parser()
    args = parser.parse_args(argv)
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
                if key in COMMON_DEFAULTS and key not in given and key not in NOT_RESUMED:
                    setattr(args, key, value)
    return parser, args


def main(argv=None):
    from chainer_see.data.errors import DataError
    from chainer_see.training.build import SEETraining
    from chainer_see.training.extensions.nan_guard import NonFiniteError
    parser, args = parse_args(argv)
    try:
        run = SEETraining(args)
    except (DataError, FileNotFoundError, ValueError, RuntimeError) as e:
        parser.exit(EXIT_BAD_INPUT, 'train.py: error: %s\n' % e)
    try:
        run.run()
    except NonFiniteError as e:
        sys.stderr.write('train.py: %s\n' % e)
        _abort_others(run, EXIT_DIVERGED)
        return EXIT_DIVERGED
    except DataError as e:
        sys.stderr.write('train.py: error: %s\n' % e)
        _abort_others(run, EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write('train.py: interrupted at iteration %d; snapshots in %s\n'
                         % (run.updater.iteration, run.out))
        _abort_others(run, 130)
        return 130
    except BaseException:
        _abort_others(run, 1, reraise=True)
        raise
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

"""The argument parser of ``train.py``: one small function per option group, every
default taken from ``options.COMMON_DEFAULTS`` (per-dataset ones from
``options.TRAINING_DEFAULTS``); ``cli`` parses with it and runs the training.
"""
import argparse

from chainer_see.cli_types import count, fraction, image_size, non_negative, positive, positive_int
from chainer_see.config import HEADS
from chainer_see.config import PRESETS as MODEL_PRESET_TABLE
from chainer_see.data.errors import EXIT_BAD_INPUT
from chainer_see.training.options import COMMON_DEFAULTS
from chainer_see.training.options import TRAINING_DEFAULTS
from chainer_see.training.data import LOADERS
from chainer_see.training.data import MIXES
from chainer_see.training.extensions.curriculum import RULES as CURRICULUM_RULES
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

#: the --model choices: config.py's presets, in its order
MODEL_PRESETS = tuple(MODEL_PRESET_TABLE)


def _share(text):
    """argparse type: a number in [0, 1] (both ends included, unlike ``fraction``)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a number, got %r' % text)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError('expected a number in [0, 1], got %s' % text)
    return v


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
    _data_options(p, d, presets)
    _model_options(p, d)
    _optimization_options(p, d)
    _curriculum_options(p, d)
    _output_options(p, d)
    _device_options(p, d)
    return p


def _data_options(p, d, presets):
    """The 'data' options of ``train.py``."""
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
    g.add_argument('--char-map', default=None, metavar='svhn|fsns|FILE.json',
                   help="character set of the class ids (or text) in ground-truth files: "
                        "'svhn' (blank + 10 digits), 'fsns' (134 classes) or a char-map "
                        "JSON (class id -> code point) (default: --model's, else the dataset "
                        "preset's, else svhn)")


def _model_options(p, d):
    """The 'model' options of ``train.py``."""
    g = p.add_argument_group('model')
    g.add_argument('--model', choices=MODEL_PRESETS, default=None,
                   help="model preset; its input size (64x64, 200x200, 600x150) is the one "
                        "every image of every level is resized to (default: the dataset "
                        "preset's; for ground-truth files a guess: fsns for multi-view data, "
                        "svhn when every level has one word, else svhn-grid). fsns is the "
                        "published FSNS network: a ResNet-152 reader, about 11 GFLOP per "
                        "224x224 image and 34 G multiply-adds per FSNS image, seconds per "
                        "image on a CPU core (use batch 1 there, or fsns-paper); fsns-paper "
                        "is the paper's ResNet-18 reading of it. Every "
                        "curriculum level is checked against the model at start-up (char map, "
                        "views, word slots): one that does not fit stops the run before the "
                        "first iteration; N and T grow with the levels")
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
    g.add_argument('--head', choices=HEADS, default=None,
                   help="the reader's head: 'lstm' (code: an LSTM run T steps on the crop's "
                        "feature), 'independent' (paper: T classifiers) or 'ctc' (CRNN-style: "
                        "a bidirectional LSTM over the feature map's 2T+1 columns, trained "
                        "with CTC; predict.py --lexicon needs it; the backward LSTM of the "
                        "fsns presets is dropped) (default: the --model preset's, lstm)")
    g.add_argument('--loc-input-size', type=image_size, default=None, metavar='S|HxW',
                   help='the localization network reads each view shrunk to this size (the '
                        'mean of k x k blocks; k a whole number) while the reader samples the '
                        'full-size view; a localization trained on images of that size '
                        '(--load-localization) then loads whole, e.g. 64 for the 128x128 '
                        'grid started from the 64x64 crops (default: the view size, as in '
                        'the paper)')


def _optimization_options(p, d):
    """The 'optimization' options of ``train.py``."""
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
                   help="how the loss parts are combined: fsns is the published FSNS loss "
                        "term by term (default: the dataset's loss preset; see "
                        "chainer_see.training.loss and docs/faithfulness.md)")
    g.add_argument('--area-weight', type=non_negative, default=None,
                   help='lambda1, weight of the box-area regularizer ' +
                        _per_dataset('area_weight', '%g').replace(')', '; else the loss '
                                                                   'preset\'s)'))
    g.add_argument('--area-scale', type=non_negative, default=None,
                   help='lambda1 grows by this times the previous batch\'s training accuracy '
                        '(published FSNS: 2) (default: the dataset\'s, as --area-weight)')
    g.add_argument('--aspect-weight', type=non_negative, default=None,
                   help="lambda2, weight of the aspect-ratio regularizer (default: the loss "
                        "preset's: 0 for svhn and for fsns, whose published run sets 0)")
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
    g.add_argument('--box-fraction', type=_share, default=d['box_fraction'], metavar='F',
                   help='semi-supervised: on this share of the training images (a fixed '
                        'choice by image and --seed, the same across resumes, levels and '
                        'replicas) the true word boxes (synthetic data know them; files '
                        'need NAME.boxes.json beside NAME.tsv) add a box loss: smooth-L1 '
                        'between each region\'s grid corners and its word\'s box corners, '
                        'region k <-> word k in reading order; logged as main/box. 0 = text '
                        'only, as the paper; 1 = every image')
    g.add_argument('--box-weight', type=non_negative, default=d['box_weight'],
                   help='weight of the box loss of --box-fraction')


def _curriculum_options(p, d):
    """The 'curriculum and restarts' options of ``train.py``."""
    g = p.add_argument_group('curriculum and restarts')
    g.add_argument('--no-curriculum', action='store_true',
                   help='train on all levels mixed from the start')
    g.add_argument('--curriculum-mix', choices=MIXES, default=d['curriculum_mix'],
                   help="what a level trains on: 'add' (its data and every earlier "
                        "level's, mixed) or 'replace' (its own data only: every image has "
                        "the level's word count, so no word slot is taught to read "
                        "nothing where a later level puts a word)")
    g.add_argument('--curriculum-window', type=positive_int, default=d['curriculum_window'],
                   help='validation losses in the plateau window')
    g.add_argument('--curriculum-rule', choices=tuple(CURRICULUM_RULES),
                   default=d['curriculum_rule'],
                   help="when a level is done: 'loss' (published code: the validation loss "
                        "has settled, --curriculum-threshold) or 'accuracy' (the validation "
                        "sequence accuracy has reached --curriculum-accuracy and rose at most "
                        "--curriculum-rise over the window)")
    g.add_argument('--curriculum-threshold', type=non_negative,
                   default=d['curriculum_threshold'],
                   help='loss rule: next level when the mean |loss - last loss| over the '
                        'window is at most this')
    g.add_argument('--curriculum-accuracy', type=fraction, default=d['curriculum_accuracy'],
                   help='accuracy rule: the validation sequence accuracy a level must reach')
    g.add_argument('--curriculum-rise', type=non_negative, default=d['curriculum_rise'],
                   help='accuracy rule: settled when the accuracy rose at most this over the '
                        'window (newest minus oldest)')
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


def _output_options(p, d):
    """The 'output' options of ``train.py``."""
    g = p.add_argument_group('output')
    g.add_argument('--out', default=d['out'], help='output folder')
    g.add_argument('--resume', action='store_true',
                   help='continue from the newest readable snapshot in --out (options not '
                        'given take the values of --out/config.json); refused when --out '
                        'has no readable snapshot')
    g.add_argument('--overwrite', action='store_true',
                   help='start a new run in an --out folder that holds another run: its '
                        'config.json, log, plots, boxes/, snapshots and model.npz are '
                        'removed first (other files stay)')
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


def _device_options(p, d):
    """The 'devices' options of ``train.py``."""
    g = p.add_argument_group('devices')
    g.add_argument('--gpus', default=d['gpus'], metavar='IDS',
                   help='GPU ids: none = CPU, 0 = one GPU, 0,1,2,3 = data parallel with '
                        "Chainer's multiprocess updater (default: none, the CPU)")
    g.add_argument('--mpi', action='store_true',
                   help='ChainerMN data parallel across processes/machines: mpiexec -n K '
                        'python train.py --mpi [--gpus 0,1,2,3] (one process per device)')
    g.add_argument('--save-rank-models', action='store_true', help=argparse.SUPPRESS)

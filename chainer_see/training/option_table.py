"""The command-line options of ``train.py``, as one table: ``OPTIONS``.

Every option is one frozen ``Option`` record: its flag, ``dest``, default, argparse
``type`` or ``action``, choices, metavar, help text, parser group and, for a loss
option, the ``SEELoss`` argument it sets.  The rest is derived from it:
``options.COMMON_DEFAULTS`` and ``options.LOSS_OPTIONS``, and ``parser.build_parser``,
which adds the records group by group in this order.

An option whose default depends on ``--dataset`` has default ``None`` and its values
in ``by_dataset`` (``((dataset preset, value), ...)``; written as a dict, kept as a tuple
of pairs so the record stays frozen and hashable): ``options.TRAINING_DEFAULTS`` is
gathered from them.  A help text with ``per_dataset`` set holds ``{per_dataset}``: the
parser puts the option's ``by_dataset`` values there (each in that format).  Choices
come from the modules that own them, never written out here.
"""
import argparse
import dataclasses

from chainer_see.cli_types import count, fraction, image_size, non_negative, positive, positive_int
from chainer_see.config import HEADS, SLOT_LAYOUTS
from chainer_see.config import PRESETS as MODEL_PRESET_TABLE
from chainer_see.data import presets
from chainer_see.training.data import LOADERS, MIXES
from chainer_see.training.extensions.curriculum import RULES as CURRICULUM_RULES
from chainer_see.training.loss import MODES as LOSS_MODES

#: the --model choices: config.py's presets, in its order
MODEL_PRESETS = tuple(MODEL_PRESET_TABLE)
#: the networks --freeze can hold fixed
FREEZABLE = ('localization', 'recognition')


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of ``train.py``.

    ``loss_arg``: the ``SEELoss`` argument the option sets (``options.LOSS_OPTIONS``);
    ``by_dataset``: ``((dataset preset, default), ...)``, in the order of the help and of
    ``options.TRAINING_DEFAULTS``; ``per_dataset``: the format of these values in the
    help;
    ``model_override``: a ``SEEConfig`` field (cli's ``config_overrides``), not a
    ``SEETraining`` option, so not in ``options.COMMON_DEFAULTS``.
    """
    flags: tuple
    dest: str
    help: str
    group: str = ''
    default: object = None
    type: object = None
    action: str = None
    choices: tuple = None
    metavar: str = None
    loss_arg: str = None
    per_dataset: str = None
    by_dataset: tuple = ()
    model_override: bool = False


def share(text):
    """argparse type: a number in [0, 1] (both ends included, unlike ``fraction``)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a number, got %r' % text)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError('expected a number in [0, 1], got %s' % text)
    return v


def _opt(flag, help, by_dataset=None, **fields):
    """The ``Option`` of ``flag``, its ``dest`` as argparse names it (group: ``_group``);
    ``by_dataset`` a dict ``{dataset preset: default}``, stored as its pairs."""
    return Option(flags=(flag,), dest=flag.lstrip('-').replace('-', '_'), help=help,
                  by_dataset=tuple((by_dataset or {}).items()), **fields)


def _flag(flag, help, **fields):
    """An on/off option: ``store_true``, default ``False``."""
    return _opt(flag, help, action='store_true', default=False, **fields)


def _group(title, *options):
    """``options`` in the parser group ``title``."""
    return tuple(dataclasses.replace(o, group=title) for o in options)


_DATA = _group(
    'data',
    _opt('--dataset', default='synthetic-svhn',
         help='a preset (%s) or a path to a ground-truth file or curriculum JSON'
         % ', '.join(presets.PRESETS)),
    _opt('--data-dir', default='data',
         help="folder of the prepared real datasets (svhn/..., fsns/...; "
              "datasets/*/prepare.py make them)"),
    _opt('--validation-size', type=positive_int, default=256,
         help='images per synthetic validation level'),
    _opt('--loader', choices=LOADERS, default='serial',
         help='how training batches are made: in this process, in threads or in '
              'worker processes'),
    _opt('--loader-workers', type=positive_int, default=2,
         help='threads/processes of --loader thread/process'),
    _flag('--skip-bad', help='report and skip bad ground-truth lines instead of stopping'),
    _opt('--char-map', metavar='svhn|fsns|FILE.json',
         help="character set of the class ids (or text) in ground-truth files: "
              "'svhn' (blank + 10 digits), 'fsns' (134 classes) or a char-map "
              "JSON (class id -> code point) (default: --model's, else the dataset "
              "preset's, else svhn)"),
)

_MODEL = _group(
    'model',
    _opt('--model', choices=MODEL_PRESETS,
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
              "first iteration; N and T grow with the levels"),
    _opt('--load-localization', metavar='MODEL_NPZ',
         help="start from another run's localization weights (its model.npz)"),
    _opt('--load-recognition', metavar='MODEL_NPZ',
         help="start from another run's recognition weights (its model.npz), e.g. "
              "a synthetic-svhn reader for synthetic-grid (same crop size)"),
    _opt('--freeze', choices=FREEZABLE,
         help='do not update this network (e.g. a reader from '
              '--load-recognition): only the other one learns'),
    _opt('--slot-layout', choices=SLOT_LAYOUTS,
         help="where the N regions start: 'none' (paper and code: all on the same "
              "centred box) or 'grid' (region n on cell n, in reading order, of a "
              "ceil(sqrt N)-column grid: distinct starting boxes, a layout prior "
              "but no box label) (default: none)"),
    _opt('--head', choices=HEADS, model_override=True,
         help="the reader's head: 'lstm' (code: an LSTM run T steps on the crop's "
              "feature), 'independent' (paper: T classifiers) or 'ctc' (CRNN-style: "
              "a bidirectional LSTM over the feature map's 2T+1 columns, trained "
              "with CTC; predict.py --lexicon needs it; the backward LSTM of the "
              "fsns presets is dropped) (default: the --model preset's, lstm)"),
    _opt('--loc-input-size', type=image_size, metavar='S|HxW',
         help='the localization network reads each view shrunk to this size (the '
              'mean of k x k blocks; k a whole number) while the reader samples the '
              'full-size view; a localization trained on images of that size '
              '(--load-localization) then loads whole, e.g. 64 for the 128x128 '
              'grid started from the 64x64 crops (default: the view size, as in '
              'the paper)'),
)

# The per-dataset defaults (by_dataset of --iterations, --batch-size, --lr,
# --area-weight, --area-scale and --test-interval).  synthetic-svhn (the default run) is
# measured on 2 shared CPU cores: batch 32 runs ~80 images/s (batch 16: ~64/s, 64: ~85/s,
# no better per image), so 1500 iterations take about 10 minutes; Adam alpha 1e-3
# learned faster than 2e-3 and than batch 16, and a linear decay to 0 over the 10 minutes
# ended lower (35 % validation accuracy against 41 % constant).  The text loss alone
# shrinks the initial zoom-0.9 box (81 % of the image) to ~56 % with IoU ~0.65 against
# the true box, so no area regularizer.  The other presets are starting points (not
# measured here): smaller batches for the 200x200 and FSNS images, alpha 1e-4 for the
# FSNS model (the published run's).  A dataset preset without values here trains with
# svhn's (options.dataset_defaults).
_OPTIMIZATION = _group(
    'optimization',
    _opt('--iterations', type=positive_int, per_dataset='%s',
         by_dataset={'synthetic-svhn': 1500, 'svhn': 20000, 'synthetic-grid': 20000,
                     'synthetic-grid4': 20000, 'synthetic-grid128': 20000,
                     'svhn-grid': 20000, 'synthetic-random': 40000,
                     'synthetic-random128': 20000, 'svhn-random': 40000,
                     'synthetic-fsns': 100000, 'fsns': 300000},
         help='stop after this many iterations (default: per --dataset: {per_dataset})'),
    _opt('--time-limit', type=positive, metavar='MINUTES',
         help='also stop after this many minutes of training (default: none)'),
    _opt('--batch-size', type=positive_int, per_dataset='%s',
         by_dataset={'synthetic-svhn': 32, 'svhn': 32, 'synthetic-grid': 16,
                     'synthetic-grid4': 16, 'synthetic-grid128': 16, 'svhn-grid': 16,
                     'synthetic-random': 16, 'synthetic-random128': 16,
                     'svhn-random': 16, 'synthetic-fsns': 8, 'fsns': 8},
         help='images per iteration and device (default: per --dataset: {per_dataset})'),
    _opt('--lr', type=positive, per_dataset='%g',
         by_dataset={'synthetic-svhn': 1e-3, 'svhn': 1e-3, 'synthetic-grid': 1e-3,
                     'synthetic-grid4': 1e-3, 'synthetic-grid128': 1e-3,
                     'svhn-grid': 1e-3, 'synthetic-random': 1e-3,
                     'synthetic-random128': 1e-3, 'svhn-random': 1e-3,
                     'synthetic-fsns': 1e-4, 'fsns': 1e-4},
         help='Adam step size alpha (default: per --dataset: {per_dataset})'),
    _opt('--lr-final', type=non_negative,
         help='decay alpha linearly to this value at the end of the run: the '
              'last iteration or the --time-limit, whichever comes first '
              '(default: constant alpha)'),
    _opt('--lr-decay-start', type=fraction, default=0.0, metavar='FRACTION',
         help='share of the run (iterations or time) after which the decay to '
              '--lr-final begins'),
    _opt('--weight-decay', type=non_negative, default=5e-4,
         help='L2 weight decay (published code: 5e-4)'),
    _opt('--clip', type=non_negative, default=2.0,
         help='gradient clipping at this global norm, 0 = off (published code: 2)'),
    _opt('--seed', type=int, default=0,
         help='seed of the initial weights and the synthetic training images'),
    _opt('--loss-mode', choices=LOSS_MODES, loss_arg='mode',
         help="how the loss parts are combined: fsns is the published FSNS loss "
              "term by term (default: the dataset's loss preset; see "
              "chainer_see.training.loss and docs/faithfulness.md)"),
    _opt('--area-weight', type=non_negative, loss_arg='area_weight', per_dataset='%g',
         by_dataset={'synthetic-svhn': 0.0, 'svhn': 0.0},
         help="lambda1, weight of the box-area regularizer (default: per --dataset: "
              "{per_dataset}; else the loss preset's)"),
    _opt('--area-scale', type=non_negative, loss_arg='area_accuracy_scale',
         by_dataset={'synthetic-svhn': 0.0, 'svhn': 0.0},
         help='lambda1 grows by this times the previous batch\'s training accuracy '
              '(published FSNS: 2) (default: the dataset\'s, as --area-weight)'),
    _opt('--aspect-weight', type=non_negative, loss_arg='aspect_weight',
         help="lambda2, weight of the aspect-ratio regularizer (default: the loss "
              "preset's: 0 for svhn and for fsns, whose published run sets 0)"),
    _opt('--direction-weight', type=non_negative, loss_arg='direction_weight',
         help="weight of the mirrored-grid penalty (default: the loss preset's: "
              "fsns 1, svhn 0)"),
    _opt('--height-hinge', type=non_negative, metavar='PIXELS', loss_arg='height_hinge',
         help="penalize boxes lower than this, 0 = off (default: the loss preset's: "
              "fsns 10, svhn off)"),
    _opt('--outside-weight', type=non_negative, loss_arg='outside_weight',
         help='weight of the penalty on grid corners outside the image (this '
              'project\'s, not the paper\'s: it keeps a localization trained '
              'against a frozen reader from moving its boxes off the image) '
              '(default: 0)'),
    _opt('--width-weight', type=non_negative, loss_arg='width_weight',
         help='weight of the penalty on the box\'s width as a share of the image\'s '
              '(this project\'s, not the paper\'s: the area term shrinks a wide box\'s '
              'height faster than its width; this one pulls the width alone) '
              '(default: 0)'),
    _opt('--box-fraction', type=share, default=0.0, metavar='F',
         help='semi-supervised: on this share of the training images (a fixed '
              'choice by image and --seed, the same across resumes, levels and '
              'replicas) the true word boxes (synthetic data know them; files '
              'need NAME.boxes.json beside NAME.tsv) add a box loss: smooth-L1 '
              'between each region\'s grid corners and its word\'s box corners, '
              'region k <-> word k in reading order; logged as main/box. 0 = text '
              'only, as the paper; 1 = every image'),
    _opt('--box-weight', type=non_negative, default=1.0, loss_arg='box_weight',
         help='weight of the box loss of --box-fraction'),
)

_CURRICULUM = _group(
    'curriculum and restarts',
    _flag('--no-curriculum', help='train on all levels mixed from the start'),
    _opt('--curriculum-mix', choices=MIXES, default='add',
         help="what a level trains on: 'add' (its data and every earlier "
              "level's, mixed) or 'replace' (its own data only: every image has "
              "the level's word count, so no word slot is taught to read "
              "nothing where a later level puts a word)"),
    _opt('--start-level', type=positive_int, default=1, metavar='K',
         help='begin a new run at curriculum level K (1-based, as the log counts), '
              'e.g. to go on from a model of the easier levels '
              '(--load-localization/--load-recognition); a resume keeps its own level'),
    _opt('--curriculum-window', type=positive_int, default=5,
         help='validation losses in the plateau window'),
    _opt('--curriculum-rule', choices=tuple(CURRICULUM_RULES), default='loss',
         help="when a level is done: 'loss' (published code: the validation loss "
              "has settled, --curriculum-threshold) or 'accuracy' (the validation "
              "sequence accuracy has reached --curriculum-accuracy and rose at most "
              "--curriculum-rise over the window)"),
    _opt('--curriculum-threshold', type=non_negative, default=0.1,
         help='loss rule: next level when the mean |loss - last loss| over the '
              'window is at most this'),
    _opt('--curriculum-accuracy', type=fraction, default=0.8,
         help='accuracy rule: the validation sequence accuracy a level must reach'),
    _opt('--curriculum-rise', type=non_negative, default=0.01,
         help='accuracy rule: settled when the accuracy rose at most this over the '
              'window (newest minus oldest)'),
    _opt('--test-interval', type=positive_int, per_dataset='%s',
         by_dataset={'synthetic-svhn': 100, 'svhn': 500, 'synthetic-grid': 500,
                     'synthetic-grid4': 500, 'synthetic-grid128': 250, 'svhn-grid': 500,
                     'synthetic-random': 500, 'synthetic-random128': 250,
                     'svhn-random': 500, 'synthetic-fsns': 1000, 'fsns': 2000},
         help='iterations between validations (and curriculum checks) '
              '(default: per --dataset: {per_dataset})'),
    _opt('--max-restarts', type=count, default=0,
         help='localization-only restarts allowed (recognition re-initialized, '
              'localization kept), 0 = none'),
    _opt('--restart-interval', type=count, default=0,
         help='restart every this many iterations (up to --max-restarts) instead of '
              'by the rule, 0 = by the rule'),
    _opt('--restart-tolerance', type=non_negative, default=0.005,
         help='rule: boxes have settled when they move at most this share of the '
              'image side per validation (mean over the window)'),
    _opt('--restart-improvement', type=non_negative, default=0.05,
         help='rule: recognition improves while the validation text loss fell by '
              'this share over the window'),
)

_OUTPUT = _group(
    'output',
    _opt('--out', default='result', help='output folder'),
    _flag('--resume',
          help='continue from the newest readable snapshot in --out (options not '
               'given take the values of --out/config.json); refused when --out '
               'has no readable snapshot'),
    _flag('--overwrite',
          help='start a new run in an --out folder that holds another run: its '
               'config.json, log, plots, boxes/, snapshots and model.npz are '
               'removed first (other files stay)'),
    _opt('--log-interval', type=positive_int,
         help='iterations per log entry and plot point (default: --test-interval, '
              'at most 50)'),
    _opt('--snapshot-interval', type=positive_int,
         help='iterations between snapshots (default: --test-interval)'),
    _opt('--keep-snapshots', type=count, default=2, help='snapshots kept, 0 = all'),
    _opt('--plot-interval', type=count,
         help='iterations between box pictures, 0 = none (default: --test-interval)'),
    _opt('--plot-images', type=count, default=4,
         help='validation images in the box pictures'),
    _flag('--heatmaps', help='add VisualBackprop heat maps to the box pictures'),
    _flag('--no-gif', help='do not assemble boxes/training.gif at the end'),
    _flag('--quiet', help='no progress lines on stdout'),
)

_DEVICES = _group(
    'devices',
    _opt('--gpus', metavar='IDS',
         help='GPU ids: none = CPU, 0 = one GPU, 0,1,2,3 = data parallel with '
              "Chainer's multiprocess updater (default: none, the CPU)"),
    _flag('--mpi',
          help='ChainerMN data parallel across processes/machines: mpiexec -n K '
               'python train.py --mpi [--gpus 0,1,2,3] (one process per device)'),
    _flag('--save-rank-models', help=argparse.SUPPRESS),
)

#: every option of ``train.py``, group by group in the order of ``--help``
OPTIONS = _DATA + _MODEL + _OPTIMIZATION + _CURRICULUM + _OUTPUT + _DEVICES
#: the parser groups, in order
GROUPS = tuple(dict.fromkeys(o.group for o in OPTIONS))

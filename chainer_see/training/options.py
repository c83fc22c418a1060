"""The options of a training run: their defaults, and what the dataset decides.

The options themselves, with their defaults, are the table ``option_table.OPTIONS``;
``COMMON_DEFAULTS``, ``TRAINING_DEFAULTS`` (from the options' ``by_dataset``) and
``LOSS_OPTIONS`` are derived from it.  An option left ``None`` in ``COMMON_DEFAULTS``
takes the ``TRAINING_DEFAULTS`` entry of ``--dataset`` (:func:`fill_defaults`).
``LOSS_OPTIONS`` maps the loss options to ``SEELoss`` arguments.  :func:`choose_presets` and :func:`guess_model_preset` decide the model and
loss presets of a run from ``--dataset`` and ``--model``.
"""
import argparse

from chainer_see.config import SEEConfig
from chainer_see.data import presets
from chainer_see.training.option_table import OPTIONS


def _gather_by_dataset(options):
    """``{dataset preset: {dest: default}}`` from the ``by_dataset`` of ``options``,
    datasets in the order they first appear, each dict's options in table order."""
    table = {}
    for option in options:
        for dataset, value in option.by_dataset:
            table.setdefault(dataset, {})[option.dest] = value
    return table


#: Per-dataset defaults of the options left unset, ``{dataset preset: {dest: value}}``,
#: gathered from the ``by_dataset`` of ``option_table.OPTIONS`` (where the values stand,
#: with how the synthetic-svhn ones were measured).
TRAINING_DEFAULTS = _gather_by_dataset(OPTIONS)
#: Defaults of a ``--dataset`` path: the ``TRAINING_DEFAULTS`` entry of this dataset preset,
#: by the model preset the files are read for (a choice between whole columns of the
#: table, not a default of one option, so it stays a mapping of its own).
PATH_DEFAULTS = {'svhn': 'svhn', 'svhn-grid': 'svhn-grid', 'fsns': 'fsns',
                 'fsns-paper': 'fsns'}
#: Options every run shares (the command line's defaults), from ``option_table.OPTIONS``
#: (not the model overrides such as ``--head``: cli's ``config_overrides``).
COMMON_DEFAULTS = {o.dest: o.default for o in OPTIONS if not o.model_override}
#: ``(option, SEELoss argument)`` of the loss options (``None``: the dataset's default,
#: else the loss preset's), from the ``loss_arg`` of ``option_table.OPTIONS``.
LOSS_OPTIONS = tuple((o.dest, o.loss_arg) for o in OPTIONS if o.loss_arg)


def default_options(**changes):
    """An options namespace as the command line would give it, with ``changes``."""
    opts = dict(COMMON_DEFAULTS)
    unknown = sorted(set(changes) - set(opts))
    if unknown:
        raise ValueError('unknown training option(s): %s' % ', '.join(unknown))
    opts.update(changes)
    return argparse.Namespace(**opts)


def dataset_defaults(dataset, model_preset=None):
    """The ``TRAINING_DEFAULTS`` entry of ``--dataset`` (a path: by its model preset)."""
    if not presets.is_path(dataset):
        return dict(TRAINING_DEFAULTS.get(dataset, TRAINING_DEFAULTS['svhn']))
    return dict(TRAINING_DEFAULTS[PATH_DEFAULTS.get(model_preset, 'svhn')])


def fill_defaults(options, defaults):
    """Set the options left ``None`` in place: from ``defaults`` (the dataset's), the
    intervals from ``--test-interval`` (log: at most 50, plots and snapshots: equal)."""
    o = options
    for key, value in defaults.items():
        if getattr(o, key, None) is None:
            setattr(o, key, value)
    if o.iterations is None:
        o.iterations = defaults['iterations']
    for key in ('log_interval', 'plot_interval'):
        if getattr(o, key) is None:
            setattr(o, key, o.test_interval if key == 'plot_interval'
                    else max(1, min(o.test_interval, 50)))
    if o.snapshot_interval is None:
        o.snapshot_interval = o.test_interval


def loss_arguments(options, defaults):
    """``SEELoss.preset`` keyword arguments of the loss options (``LOSS_OPTIONS``); an
    option left ``None`` takes ``defaults`` (the dataset's), else the preset's own."""
    kw = {}
    for opt_name, loss_name in LOSS_OPTIONS:
        value = getattr(options, opt_name)
        if value is None:
            value = defaults.get(opt_name)
        if value is not None:
            kw[loss_name] = value
    if kw.get('height_hinge') is not None and kw['height_hinge'] <= 0:
        kw['height_hinge'] = None      # --height-hinge 0 turns the hinge off
    return kw


def file_char_map(options):
    """The char map ground-truth files are read with: ``--char-map``, else the char map
    of ``--model``'s preset, else ``None`` (the dataset preset's; ``svhn`` for a path)."""
    if getattr(options, 'char_map', None):
        return options.char_map
    if options.model:
        return SEEConfig.preset(options.model).char_map
    return None


def choose_presets(options):
    """``(model_preset, loss_preset, image_size)`` as far as the options decide them,
    before any data is read; each may be ``None``.

    A dataset preset names its model and loss presets (``--model`` overrides the model)
    and, for real data, the image size of the model; a path has the size of ``--model``
    (if given) and no loss preset yet (:func:`path_loss_preset`).  ``--char-map`` with a
    synthetic dataset is a ``ValueError``.
    """
    dataset, model_preset = options.dataset, options.model
    loss_preset = image_size = None
    if not presets.is_path(dataset):
        preset = presets.get_preset(dataset)
        model_preset = model_preset or preset.model
        loss_preset = preset.loss
        if not preset.synthetic:
            image_size = SEEConfig.preset(model_preset).image_size
        elif getattr(options, 'char_map', None):
            raise ValueError('--char-map applies to ground-truth files; the synthetic '
                             'dataset %s has its own char map' % dataset)
    elif model_preset:
        image_size = SEEConfig.preset(model_preset).image_size
    return model_preset, loss_preset, image_size


def path_loss_preset(model_preset):
    """The loss preset of ground-truth files read for a model of ``model_preset``."""
    return 'fsns' if model_preset in ('fsns', 'fsns-paper') else 'svhn'


def guess_model_preset(datasets):
    """Model preset for ground-truth files without ``--model`` (``datasets``: the training
    sets of all levels): ``fsns`` for multi-view data (a boxes file with ``views`` > 1, or
    FSNS-character labels on images four times as wide as high), else ``svhn`` when
    every level has one word per image, else ``svhn-grid``.  Like ``--model``, the guess
    sets the input size the images are resized to."""
    first = datasets[0]
    if (getattr(first, 'num_views', 1) or 1) > 1:
        return 'fsns'
    H, W = first.image_size
    if getattr(first.char_map, 'name', None) == 'fsns' and W == 4 * H:
        return 'fsns'
    return 'svhn' if max(int(d.num_words) for d in datasets) == 1 else 'svhn-grid'

"""``option_table.OPTIONS`` is the one source of ``train.py``'s options: the parser, the
defaults (``COMMON_DEFAULTS``), the per-dataset defaults (``TRAINING_DEFAULTS``, from each
option's ``by_dataset``) and the loss options (``LOSS_OPTIONS``) all follow it."""
import argparse
import inspect

import pytest

from chainer_see.training import option_table
from chainer_see.training.loss import SEELoss
from chainer_see.training.option_table import OPTIONS, Option
from chainer_see.training.options import COMMON_DEFAULTS, LOSS_OPTIONS, TRAINING_DEFAULTS
from chainer_see.training.parser import build_parser


def _actions():
    """``{dest: argparse action}`` of the parser's options (``--help`` left out)."""
    return {a.dest: a for a in build_parser()._actions if a.dest != 'help'}


def test_no_two_entries_share_a_dest_or_a_flag():
    dests = [o.dest for o in OPTIONS]
    flags = [f for o in OPTIONS for f in o.flags]
    assert len(dests) == len(set(dests))
    assert len(flags) == len(set(flags))
    assert all(f.startswith('--') for f in flags)


@pytest.mark.parametrize('option', OPTIONS, ids=lambda o: o.dest)
def test_every_entry_is_in_the_parser_as_written(option):
    action = _actions()[option.dest]
    assert tuple(action.option_strings) == option.flags
    assert action.default == option.default
    assert type(action.default) is type(option.default)
    assert action.type is option.type
    if option.choices is not None:
        assert tuple(action.choices) == tuple(option.choices)
    else:
        assert action.choices is None
    assert action.metavar == option.metavar
    if option.action == 'store_true':
        assert isinstance(action, argparse._StoreTrueAction)
    if option.per_dataset:
        assert '{per_dataset}' in option.help and '{per_dataset}' not in action.help
        first = next(name for name, d in TRAINING_DEFAULTS.items() if option.dest in d)
        assert first in action.help
    else:
        assert action.help == option.help


def test_the_parser_has_no_option_outside_the_table():
    assert set(_actions()) == {o.dest for o in OPTIONS}


def test_parser_follows_the_table_order_and_groups():
    parser = build_parser()
    seen = []
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.dest != 'help':
                seen.append((group.title, action.dest))
    assert seen == [(o.group, o.dest) for o in OPTIONS]
    assert option_table.GROUPS == ('data', 'model', 'optimization',
                                   'curriculum and restarts', 'output', 'devices')


def test_common_defaults_are_what_an_empty_command_line_gives():
    parsed = vars(build_parser().parse_args([]))
    model_overrides = {o.dest for o in OPTIONS if o.model_override}
    assert model_overrides == {'head'}
    assert set(parsed) - set(COMMON_DEFAULTS) == model_overrides
    assert set(COMMON_DEFAULTS) <= set(parsed)
    for key, value in COMMON_DEFAULTS.items():
        assert parsed[key] == value, key
        assert type(parsed[key]) is type(value), key
    # the options left None take the dataset's defaults (fill_defaults)
    per_dataset = {k for d in TRAINING_DEFAULTS.values() for k in d}
    assert all(COMMON_DEFAULTS[k] is None for k in per_dataset)


def test_loss_options_name_real_seeloss_arguments():
    params = inspect.signature(SEELoss.__init__).parameters
    assert LOSS_OPTIONS, 'no loss options'
    for opt, arg in LOSS_OPTIONS:
        assert arg in params, arg
        assert opt in COMMON_DEFAULTS
    assert LOSS_OPTIONS == tuple((o.dest, o.loss_arg) for o in OPTIONS if o.loss_arg)
    assert ('area_scale', 'area_accuracy_scale') in LOSS_OPTIONS
    assert ('loss_mode', 'mode') in LOSS_OPTIONS


def test_choices_are_those_of_their_owners():
    from chainer_see.config import HEADS, PRESETS, SLOT_LAYOUTS
    from chainer_see.training.data import LOADERS, MIXES
    from chainer_see.training.extensions.curriculum import RULES
    from chainer_see.training.loss import MODES
    choices = {o.dest: o.choices for o in OPTIONS if o.choices is not None}
    assert choices == dict(loader=LOADERS, model=tuple(PRESETS), freeze=option_table.FREEZABLE,
                           slot_layout=SLOT_LAYOUTS, head=HEADS, loss_mode=MODES,
                           curriculum_mix=MIXES, curriculum_rule=tuple(RULES))


def test_options_are_frozen():
    with pytest.raises(Exception):
        OPTIONS[0].default = 'x'
    assert all(isinstance(o, Option) and o.group for o in OPTIONS)


@pytest.mark.parametrize('argv, message', [
    (['--box-fraction', '2'], 'expected a number in [0, 1], got 2'),
    (['--box-fraction', 'x'], "expected a number, got 'x'"),
    (['--loader', 'x'], "invalid choice: 'x'"),
    (['--lr', '-1'], 'expected a number > 0, got -1'),
])
def test_a_bad_option_is_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and message in err and err.startswith('train.py: error:')


#: ``options.TRAINING_DEFAULTS`` as it was written out by hand before it was gathered
#: from the options' ``by_dataset`` (the pin: the table must give exactly this)
PINNED_TRAINING_DEFAULTS = {
    'synthetic-svhn': dict(iterations=1500, batch_size=32, lr=1e-3, test_interval=100,
                           area_weight=0.0, area_scale=0.0),
    'svhn': dict(iterations=20000, batch_size=32, lr=1e-3, test_interval=500,
                 area_weight=0.0, area_scale=0.0),
    'synthetic-grid': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-grid4': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-grid128': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=250),
    'svhn-grid': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-random': dict(iterations=40000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-random128': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=250),
    'svhn-random': dict(iterations=40000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-fsns': dict(iterations=100000, batch_size=8, lr=1e-4, test_interval=1000),
    'fsns': dict(iterations=300000, batch_size=8, lr=1e-4, test_interval=2000),
}


def test_training_defaults_are_gathered_unchanged_from_by_dataset():
    assert TRAINING_DEFAULTS == PINNED_TRAINING_DEFAULTS
    assert list(TRAINING_DEFAULTS) == list(PINNED_TRAINING_DEFAULTS)
    for dataset, pinned in PINNED_TRAINING_DEFAULTS.items():
        for key, value in pinned.items():
            assert type(TRAINING_DEFAULTS[dataset][key]) is type(value), (dataset, key)
    for option in OPTIONS:
        assert dict(option.by_dataset) == {name: d[option.dest]
                                           for name, d in TRAINING_DEFAULTS.items()
                                           if option.dest in d}


def test_by_dataset_names_dataset_presets_once_and_leaves_the_default_none():
    from chainer_see.data.presets import PRESETS
    for option in OPTIONS:
        names = [name for name, _ in option.by_dataset]
        assert len(names) == len(set(names)), option.dest
        assert set(names) <= set(PRESETS), option.dest
        if option.by_dataset:
            assert option.default is None, option.dest
        if option.per_dataset:
            assert option.by_dataset, option.dest
    hash(OPTIONS)     # the records stay hashable


def test_per_dataset_help_lists_by_dataset_in_order():
    help_of = {a.dest: a.help for a in _actions().values()}
    assert ('synthetic-svhn 1500, svhn 20000, synthetic-grid 20000'
            in help_of['iterations'])
    assert 'synthetic-fsns 0.0001, fsns 0.0001)' in help_of['lr']
    assert help_of['area_weight'].startswith(
        'lambda1, weight of the box-area regularizer (default: per --dataset: '
        'synthetic-svhn 0, svhn 0; else')

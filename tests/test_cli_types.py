"""Command-line number types: accepted ranges and the messages for values outside them."""
import argparse

import pytest

from chainer_see import cli_types


@pytest.mark.parametrize('parse, text, value', [
    (cli_types.positive_int, '3', 3), (cli_types.count, '0', 0),
    (cli_types.non_negative, '0', 0.0), (cli_types.positive, '1e-5', 1e-5),
    (cli_types.fraction, '0.6', 0.6), (cli_types.fraction, '0', 0.0),
])
def test_values_in_range(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize('parse, text, message', [
    (cli_types.positive_int, '0', 'expected a number > 0, got 0'),
    (cli_types.positive_int, '2.5', "expected a whole number, got '2.5'"),
    (cli_types.count, '-1', 'expected a number >= 0, got -1'),
    (cli_types.non_negative, 'abc', "expected a number, got 'abc'"),
    (cli_types.positive, '0', 'expected a number > 0, got 0'),
    (cli_types.fraction, '1', 'expected a number in [0, 1), got 1'),
])
def test_values_out_of_range_say_the_range(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse(text)
    assert str(e.value) == message


def test_evaluate_rejects_a_zero_batch_through_argparse(capsys):
    from chainer_see.evaluation import evaluate
    with pytest.raises(SystemExit) as e:
        evaluate.main(['model.npz', '--batch-size', '0'])
    assert e.value.code == 2
    assert 'expected a number > 0, got 0' in capsys.readouterr().err


@pytest.mark.parametrize('text, size', [('64', (64, 64)), ('48x32', (48, 32)),
                                        ('48X32', (48, 32)), ('0', None), ('4x', None),
                                        ('2x3x4', None), ('big', None)])
def test_image_size_is_s_or_hxw(text, size):
    if size is not None:
        assert cli_types.image_size(text) == size
        return
    with pytest.raises(argparse.ArgumentTypeError, match='expected a size S or HxW'):
        cli_types.image_size(text)


def test_train_takes_loc_input_size_and_names_a_bad_one(capsys):
    from chainer_see.training.cli import build_parser
    assert build_parser().parse_args(['--loc-input-size', '64']).loc_input_size == (64, 64)
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(['--loc-input-size', '64x'])
    assert e.value.code == 2
    assert "--loc-input-size: expected a size S or HxW" in capsys.readouterr().err

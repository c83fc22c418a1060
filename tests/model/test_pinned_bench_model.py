"""benchmarks/bench_model.py compares one step of the fast and the plain implementation
before timing them (issue 16, step 0): they agree on tiny models, a fast operation or a
loss that computes something else stops the benchmark, and the table carries numbers
that fit together (no timing asserted)."""
import types

import numpy
import pytest

from benchmarks import bench_model
from chainer_see.links import basic
from chainer_see.training.loss import SEELoss
from tests.evaluation import helpers as h


def _step_inputs(name, config, batch=2, seed=0):
    return bench_model.step_inputs(name, config, batch, seed)


@pytest.mark.parametrize('name, config', [
    ('svhn', h.tiny_svhn_config()),
    ('svhn-grid', h.tiny_svhn_config(num_regions=4)),
])
def test_fast_and_plain_steps_agree(name, config):
    model, spec, x, labels = _step_inputs(name, config)
    diffs = bench_model.compare_steps(model, spec, x, labels)
    params = ['grad ' + n for n, _ in model.namedparams()]
    assert sorted(diffs) == sorted(['logits', 'boxes', 'loss'] + params)
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= bench_model.TOLERANCE, (worst, diffs[worst])
    assert 0 < diffs[worst]             # the two are computed differently
    # the tolerance is inclusive, and the same step repeated gives the same differences
    assert bench_model.check_agreement(model, spec, x, labels,
                                       tolerance=diffs[worst]) == diffs[worst]
    with pytest.raises(bench_model.Disagreement, match=worst):
        bench_model.check_agreement(model, spec, x, labels, tolerance=diffs[worst] * 0.99)


def test_difference_is_relative_to_the_plain_array():
    assert bench_model.difference([1.0, 2.0], [1.0, 4.0]) == 0.5
    assert bench_model.difference([0.0, 0.5], [0.0, 0.0], scale=2.0) == 0.25
    assert bench_model.difference([0.0], [0.0]) == 0.0
    assert bench_model.difference([1e-9], [0.0]) == float('inf')
    assert bench_model.difference(numpy.zeros(2), numpy.zeros(3)) == float('inf')


def test_a_fast_operation_that_computes_something_else_is_caught(monkeypatch):
    real = basic.fast_conv

    def off_by_a_thousandth(*args, **kwargs):   # not affine: batch norm would undo that
        y = real.conv2d(*args, **kwargs)
        return y + 1e-3 * abs(y)
    monkeypatch.setattr(basic, 'fast_conv', types.SimpleNamespace(conv2d=off_by_a_thousandth))
    model, spec, x, labels = _step_inputs('svhn', h.tiny_svhn_config())
    with pytest.raises(bench_model.Disagreement, match='fast and the plain step differ'):
        bench_model.check_agreement(model, spec, x, labels)


def test_a_reference_loss_that_computes_something_else_is_caught(monkeypatch):
    real = bench_model.reference_loss

    def other_weights(spec, output, labels):
        loss, parts = real(spec, output, labels)
        return loss * 1.01, parts
    monkeypatch.setattr(bench_model, 'reference_loss', other_weights)
    model, spec, x, labels = _step_inputs('svhn', h.tiny_svhn_config())
    diffs = bench_model.compare_steps(model, spec, x, labels)
    assert diffs['loss'] == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert diffs['logits'] <= bench_model.TOLERANCE
    # the loss is the largest difference; the gradient that is the largest gradient
    # scales by the same 1.01 and ties with it up to rounding
    assert max(diffs.values()) == pytest.approx(diffs['loss'], rel=1e-3)


def test_table_rows_hold_rates_their_ratio_and_the_difference(capsys):
    configs = {'svhn': h.tiny_svhn_config()}
    assert bench_model.main(['--presets', 'svhn', '--batch', '2', '--repeats', '1',
                             '--warmup', '0'], configs=configs) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ('| preset | image | N | B | baseline img/s | chainer-see img/s | '
                      'speed-up | largest difference | GFLOP/img | GFLOP/s | roofline share |')
    cells = [c.strip() for c in out[2].strip('|').split('|')]
    assert cells[:4] == ['svhn', '40x40', '2', '2']
    base, fast, ratio, diff = float(cells[4]), float(cells[5]), cells[6], float(cells[7])
    assert base > 0 and fast > 0
    assert ratio.endswith('x') and float(ratio[:-1]) == pytest.approx(fast / base, abs=0.011)
    assert 0 <= diff <= bench_model.TOLERANCE
    gflop, rate, share = float(cells[8]), float(cells[9]), cells[10]
    assert gflop > 0 and rate == pytest.approx(gflop * fast, rel=0.05, abs=0.06)
    assert share.endswith('%') and 0 < float(share[:-1]) < 1000


def test_disagreement_exits_1_naming_the_preset_and_prints_no_table(monkeypatch, capsys):
    def disagree(*args, **kwargs):
        raise bench_model.Disagreement('the fast and the plain step differ: loss by 1e-02')
    monkeypatch.setattr(bench_model, 'check_agreement', disagree)
    assert bench_model.main(['--presets', 'svhn', '--batch', '1', '--repeats', '1'],
                            configs={'svhn': h.tiny_svhn_config()}) == 1
    captured = capsys.readouterr()
    assert 'svhn: the fast and the plain step differ: loss' in captured.err
    assert '| preset |' not in captured.out


def test_rates_and_ratio_on_a_fixed_clock(monkeypatch, capsys):
    # a step "takes" 0.1 s with the project's loss (SEELoss), 0.4 s with the baseline's
    def fixed(model, loss_fn, x, labels, repeats, warmup):
        return 0.1 if isinstance(loss_fn, SEELoss) else 0.4
    monkeypatch.setattr(bench_model, '_time_step', fixed)
    assert bench_model.main(['--presets', 'svhn', '--batch', '2', '--repeats', '3'],
                            configs={'svhn': h.tiny_svhn_config()}) == 0
    cells = [c.strip() for c in capsys.readouterr().out.splitlines()[2].strip('|').split('|')]
    assert cells[4:7] == ['5.00', '20.00', '4.00x']

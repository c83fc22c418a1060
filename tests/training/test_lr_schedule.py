"""The learning-rate schedule follows whichever budget (iterations or time) ends first,
and the time limit counts the training time carried in snapshots."""
import types

import chainer
import numpy
import pytest

from chainer_see.training.build import StopTrigger
from chainer_see.training.extensions.lr_schedule import BudgetLinearShift


def _trainer(iteration, elapsed, optimizer):
    updater = types.SimpleNamespace(iteration=iteration, get_optimizer=lambda name: optimizer)
    return types.SimpleNamespace(updater=updater, elapsed_time=elapsed)


@pytest.mark.parametrize('iteration, elapsed, expected', [
    (0, 0.0, 1e-3),          # start
    (50, 10.0, 1e-3),        # half the iterations: still before the decay
    (75, 0.0, 5.5e-4),       # 3/4 of the iterations: halfway through the decay
    (10, 45.0, 5.5e-4),      # 3/4 of the time decides, not the iterations
    (100, 0.0, 1e-4),        # end of the budget
    (10, 90.0, 1e-4),        # past the time limit: stays at the final value
])
def test_alpha_follows_the_larger_share_of_the_budget(iteration, elapsed, expected):
    opt = chainer.optimizers.Adam(alpha=1e-3)
    ext = BudgetLinearShift('alpha', (1e-3, 1e-4), iterations=100, time_limit=60.0,
                            start=0.5, optimizer=opt)
    ext(_trainer(iteration, elapsed, opt))
    assert opt.alpha == pytest.approx(expected, rel=1e-9)


def test_without_time_limit_only_iterations_count():
    opt = chainer.optimizers.Adam(alpha=1.0)
    ext = BudgetLinearShift('alpha', (1.0, 0.0), iterations=10)
    ext(_trainer(4, 1e9, opt))
    assert opt.alpha == pytest.approx(0.6)


def test_start_outside_range_is_rejected():
    with pytest.raises(ValueError):
        BudgetLinearShift('alpha', (1.0, 0.0), iterations=10, start=1.0)


def test_stop_trigger_counts_time_from_the_snapshot():
    stop = StopTrigger(100, time_limit=60.0)
    assert not stop(_trainer(5, 59.0, None))
    assert stop(_trainer(5, 61.0, None))
    assert 'time limit' in stop.reason
    assert StopTrigger(100)(_trainer(100, 0.0, None))


def test_schedule_runs_in_a_real_trainer():
    """In a Chainer Trainer the schedule reaches the final value at the last iteration."""
    model = chainer.links.Linear(2, 1)
    opt = chainer.optimizers.Adam(alpha=1e-2)
    opt.setup(model)
    data = [(numpy.ones(2, 'f'), numpy.zeros(1, 'f'))] * 4
    it = chainer.iterators.SerialIterator(data, 2)

    def loss(x, t):
        return chainer.functions.mean_squared_error(model(x), t)
    updater = chainer.training.updaters.StandardUpdater(it, opt, loss_func=loss)
    trainer = chainer.training.Trainer(updater, StopTrigger(8))
    trainer.extend(BudgetLinearShift('alpha', (1e-2, 0.0), iterations=8, start=0.5))
    seen = []
    trainer.extend(lambda t: seen.append(opt.alpha), trigger=(1, 'iteration'),
                   priority=chainer.training.extension.PRIORITY_READER)
    trainer.run()
    assert seen[:3] == [1e-2] * 3
    assert seen[-1] == pytest.approx(0.0)
    assert seen[5] == pytest.approx(1e-2 * (1 - (6 / 8.0 - 0.5) / 0.5))


def test_run_ended_by_its_time_limit_counts_as_finished(tmp_path):
    """A --time-limit run stops early and its model.npz says it finished as planned."""
    import os
    from chainer_see import read_model_info
    from chainer_see.training import cli
    out = str(tmp_path / 'run')
    status = cli.main(['--out', out, '--iterations', '1000', '--time-limit', '0.001',
                       '--batch-size', '2', '--validation-size', '2', '--test-interval', '1',
                       '--plot-images', '0', '--quiet', '--lr-final', '0'])
    assert status == 0
    _, meta, _ = read_model_info(os.path.join(out, 'model.npz'))
    assert meta['finished'] is True and meta['iteration'] < 1000

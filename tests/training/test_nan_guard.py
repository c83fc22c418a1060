"""NaN guard: training stops at the first non-finite loss/weights with a clear message;
the last good snapshot stays and nothing is written from the broken state."""
import os
import subprocess
import sys

import numpy
import pytest

import chainer

from chainer_see.training import snapshots
from chainer_see.training.extensions.nan_guard import NonFiniteError
from tests.training.helpers import at_iteration, crops_levels, small_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_nan_loss_stops_and_keeps_the_last_good_snapshot(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=6,
                    snapshot_interval=1, keep_snapshots=0, plot_images=0)
    real = run.chain.loss
    calls = []

    def poisoned(output, labels):
        loss, parts = real(output, labels)
        calls.append(chainer.config.train)
        if sum(calls) == 3:            # the third training forward: iteration 3
            loss = loss * numpy.float32('nan')
            parts = dict(parts, loss=float('nan'))
        return loss, parts

    run.chain.loss = poisoned
    with pytest.raises(NonFiniteError) as e:
        run.run()
    msg = str(e.value)
    assert 'iteration 3' in msg and 'main/loss = nan' in msg
    assert snapshots.snapshot_name(2) in msg
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [1, 2]
    assert not os.path.exists(os.path.join(str(tmp_path), 'model.npz'))
    path = snapshots.latest_snapshot(str(tmp_path))
    with numpy.load(path) as npz:
        weights = [npz[k] for k in npz.files if k.startswith('updater/model:main/model/')]
    assert weights and all(numpy.isfinite(w).all() for w in weights)


def test_non_finite_affine_matrices_stop_before_sampling(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=5,
                    plot_images=0, test_interval=100)

    def corrupt():
        run.model.localization_net.transform_2.b.array[0] = numpy.inf
    run.trainer.extend(at_iteration(2, corrupt))
    with pytest.raises(NonFiniteError, match='iteration 2: the localization network produced'):
        run.run()


def test_cli_exits_3_with_one_line_when_training_diverges(tmp_path):
    # Adam with alpha 1e30 blows the weights up after one step; the localization
    # network's output overflows at the first validation
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'train.py'), '--lr', '1e30', '--iterations', '4',
         '--batch-size', '2', '--validation-size', '2', '--test-interval', '1',
         '--plot-images', '0', '--quiet', '--out', str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 3, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('train.py:')]
    assert len(lines) == 1 and 'diverged at iteration 1' in lines[0]
    assert 'Traceback' not in proc.stderr
    assert not os.path.exists(os.path.join(str(tmp_path), 'model.npz'))


def test_unsound_states_a_loss_jump_and_huge_weights_but_follows_a_new_level():
    from chainer_see.training.extensions.nan_guard import NaNGuard

    class Trainer(object):
        def __init__(self):
            self.updater = type('U', (), {'iteration': 0})()
            self.observation = {}

    link = chainer.links.Linear(2, 2)
    guard = NaNGuard(target=link)
    trainer = Trainer()

    def step(loss):
        trainer.updater.iteration += 1
        trainer.observation = {'main/loss': numpy.float32(loss)}
        guard(trainer)
        return guard.unsound(trainer)

    assert [step(v) for v in (5.0, 50.0, 4.0, 3.0, 3.0)] == [None] * 5   # too few to judge
    assert step(41.0) == ('the loss 41 is more than 10 times the median 4 of the last 5 '
                          'iterations')
    assert step(29.0) is None                        # 29 < 10 x median 4.5
    for _ in range(30):                              # a new level: the median follows it
        step(300.0)
    assert guard.median() == 300.0 and step(310.0) is None
    link.W.array[1, 0] = 2e6
    assert step(300.0) == 'parameter /W reaches 2e+06 in magnitude (bound 1e+06)'

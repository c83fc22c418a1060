"""Interrupt (Ctrl-C) and ``--resume``: the same iteration, curriculum level, weights and
data position."""
import json
import os
import signal

import numpy

import chainer

from chainer_see.training import cli
from chainer_see.training.snapshots import latest_snapshot
from tests.training.helpers import small_run


class CtrlC(chainer.training.Extension):
    """Sends SIGINT to this process at ``iteration`` (as a user pressing Ctrl-C)."""
    trigger = (1, 'iteration')

    def __init__(self, iteration):
        self.iteration = iteration

    def __call__(self, trainer):
        if trainer.updater.iteration == self.iteration:
            os.kill(os.getpid(), signal.SIGINT)


def test_interrupt_then_resume_continues_at_the_same_iteration_and_level(tmp_path):
    first = small_run(tmp_path, iterations=8, curriculum_window=1, curriculum_threshold=1e9,
                      snapshot_interval=100, plot_images=0)
    first.trainer.extend(CtrlC(5))
    first.run()
    assert first.updater.iteration == 5 and first.curriculum.level == 1
    assert first.stop.reason.startswith('Ctrl-C')
    assert latest_snapshot(str(tmp_path)).endswith('snapshot_iter_00000005.npz')
    assert os.path.exists(os.path.join(str(tmp_path), 'model.npz'))
    weights = {k: p.array.copy() for k, p in first.model.namedparams()}
    position = first.updater.get_iterator('main').current_position
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    second = small_run(tmp_path, iterations=8, curriculum_window=1, curriculum_threshold=1e9,
                       snapshot_interval=100, plot_images=0, resume=True)
    assert second.model.num_regions == 1          # built at level 1 of 2 ...
    assert second.resume() is not None            # ... and moved to the snapshot's level
    assert second.updater.iteration == 5
    assert second.curriculum.level == 1 and second.level == 1
    assert second.model.num_regions == 2
    assert second.updater.get_iterator('main').dataset.num_words == 2
    assert second.evaluator.get_iterator('main').dataset.num_words == 2
    assert second.updater.get_iterator('main').current_position == position
    for k, p in second.model.namedparams():
        numpy.testing.assert_array_equal(p.array, weights[k])
    second.options.resume = False                 # resumed above already
    second.run()
    assert second.updater.iteration == 8 and second.curriculum.level == 1
    log = json.load(open(os.path.join(str(tmp_path), 'log')))
    assert [e['iteration'] for e in log] == [0, 2, 4, 6, 8]   # 0: the untrained IoU
    assert all(e['level'] == 1 for e in log[2:])


def test_resume_takes_options_not_given_from_config_json(tmp_path):
    out = str(tmp_path)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump({'options': {'batch_size': 7, 'lr': 0.5, 'iterations': 100, 'gpus': '0',
                               'dataset': 'synthetic-grid', 'seed': 3}}, f)
    _, args = cli.parse_args(['--out', out, '--resume', '--iterations', '200', '--seed', '0'])
    assert args.batch_size == 7 and args.lr == 0.5 and args.dataset == 'synthetic-grid'
    assert args.iterations == 200 and args.seed == 0     # given on the command line
    assert args.gpus is None                             # devices are never inherited

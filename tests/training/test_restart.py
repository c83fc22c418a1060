"""LocalizationRestart: the rule, and a restart inside a training run."""
import numpy

import chainer

from chainer_see.training.extensions.restart import LocalizationRestart
from tests.training.helpers import crops_levels, small_run


class FakeTrainer(object):
    def __init__(self):
        self.observation = {}
        self.updater = type('U', (), {'iteration': 0})()


def step(ext, trainer, text=None):
    trainer.updater.iteration += 1
    trainer.observation = {} if text is None else {'validation/main/text': text}
    with chainer.reporter.Reporter().scope(trainer.observation):
        ext(trainer)


def test_rule_restarts_when_boxes_settle_while_text_loss_falls():
    boxes = [numpy.zeros((2, 1, 4))]
    resets = []
    ext = LocalizationRestart(resets.append, probe=lambda: boxes[0], max_restarts=1,
                              window=3, box_tolerance=0.01, min_improvement=0.05, log=None)
    t = FakeTrainer()
    # boxes move by 0.1 per validation: localization still improving -> no restart
    for k, text in enumerate([2.0, 1.8, 1.6, 1.4]):
        boxes[0] = numpy.full((2, 1, 4), 0.1 * k)
        step(ext, t, text)
        step(ext, t)
    assert resets == []
    # boxes stop moving, text loss keeps falling (>= 5 % over the window) -> restart
    for text in (1.3, 1.2, 1.1):
        step(ext, t, text)
    assert resets == [0] and ext.restarts == 1
    assert t.observation['restarts'] == 1
    # max_restarts reached: never again
    for text in (1.0, 0.9, 0.8, 0.7, 0.6):
        step(ext, t, text)
    assert resets == [0]


def test_rule_waits_while_the_text_loss_is_flat():
    resets = []
    ext = LocalizationRestart(resets.append, probe=lambda: numpy.zeros((1, 1, 4)),
                              max_restarts=3, window=3, min_improvement=0.05, log=None)
    t = FakeTrainer()
    for text in (1.0, 0.99, 0.98, 0.97, 0.965, 0.96):   # 2-3 % over each window
        step(ext, t, text)
    assert resets == []
    assert ext.localization_settled() and not ext.recognition_improving()


def test_interval_restarts_and_counts_are_serialized(tmp_path):
    resets = []
    ext = LocalizationRestart(resets.append, max_restarts=2, interval=3, log=None)
    t = FakeTrainer()
    for _ in range(10):
        step(ext, t)
    assert resets == [0, 1] and ext.history[0][0] == 3 and ext.history[1][0] == 6
    path = str(tmp_path / 'r.npz')
    chainer.serializers.save_npz(path, ext)
    other = LocalizationRestart(lambda i: None, max_restarts=2, interval=3, log=None)
    chainer.serializers.load_npz(path, other)
    assert other.restarts == 2 and other.last_restart == 6


def _params(link):
    return {name: p.array.copy() for name, p in link.namedparams()}


def test_restart_reinitializes_recognition_and_keeps_localization(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=3,
                    max_restarts=1, restart_interval=2, plot_images=0, snapshot_interval=100)
    seen = {}

    class Before(chainer.training.Extension):
        trigger = (1, 'iteration')
        priority = run.restart.priority + 1

        def __call__(self, trainer):
            if trainer.updater.iteration == 2:
                seen['loc'] = _params(run.model.localization_net)
                seen['rec'] = _params(run.model.recognition_net)
                seen['loc_rules'] = {n: p.update_rule for n, p in
                                     run.model.localization_net.namedparams()}

    class After(chainer.training.Extension):
        trigger = (1, 'iteration')
        priority = run.restart.priority - 1

        def __call__(self, trainer):
            if trainer.updater.iteration == 2:
                seen['loc2'] = _params(run.model.localization_net)
                seen['rec2'] = _params(run.model.recognition_net)
                seen['rec_rules'] = [(p.update_rule.state, p.update_rule.t)
                                     for p in run.model.recognition_net.params()]
                seen['loc_rules2'] = {n: (p.update_rule, p.update_rule.t, p.update_rule.state)
                                      for n, p in run.model.localization_net.namedparams()}

    run.trainer.extend(Before())
    run.trainer.extend(After())
    run.run()
    assert run.restart.restarts == 1 and run.restart.history[0][0] == 2
    assert any('localization restart 1 of 1 at iteration 2' in line for line in run.lines)
    for name, a in seen['loc'].items():
        numpy.testing.assert_array_equal(a, seen['loc2'][name])
    changed = [n for n, a in seen['rec'].items()
               if a.shape == seen['rec2'][n].shape and not numpy.array_equal(a, seen['rec2'][n])]
    assert len(changed) >= len(seen['rec']) // 2
    # fresh optimizer state for recognition, untouched state for localization
    assert all(state is None and t == 0 for state, t in seen['rec_rules'])
    for name, (rule, t, state) in seen['loc_rules2'].items():
        assert rule is seen['loc_rules'][name] and t == 2 and state is not None
    # training went on: one more update reached the new recognition parameters
    assert run.updater.iteration == 3
    assert all(p.update_rule.t == 1 for p in run.model.recognition_net.params())

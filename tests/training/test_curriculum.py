"""CurriculumSwitch: the published plateau rule, manual triggers, snapshots, and a real
switch inside a training run."""
import os
import signal

import numpy
import pytest

import chainer

from chainer_see.training.levels import Curriculum
from chainer_see.training.extensions.curriculum import CurriculumSwitch
from tests.training.helpers import small_run


class FakeTrainer(object):
    def __init__(self):
        self.observation = {}
        self.updater = type('U', (), {'iteration': 0})()


def feed(ext, trainer, values, key='validation/main/loss'):
    for v in values:
        trainer.updater.iteration += 1
        trainer.observation = {} if v is None else {key: v}
        with chainer.reporter.Reporter().scope(trainer.observation):
            ext(trainer)


def test_plateau_rule_needs_a_full_window_of_settled_values():
    applied = []
    ext = CurriculumSwitch(Curriculum(3, applied.append), window=5, threshold=0.1, log=None)
    t = FakeTrainer()
    # mean |v - last| over [2.0, 1.9, 1.5, 1.45, 1.4] = (0.6+0.5+0.1+0.05+0)/5 = 0.25 > 0.1
    feed(ext, t, [2.0, None, 1.9, 1.5, None, 1.45, 1.4])
    assert applied == [] and ext.level == 0
    # window [1.5, 1.45, 1.4, 1.38, 1.37]: (0.13+0.08+0.03+0.01+0)/5 = 0.05 <= 0.1
    feed(ext, t, [1.38, 1.37])
    assert applied == [1] and ext.level == 1 and ext.window == []
    # the new level starts with an empty window: four flat values are not enough
    feed(ext, t, [1.0, 1.0, 1.0, 1.0])
    assert applied == [1]
    feed(ext, t, [1.0])
    assert applied == [1, 2]
    feed(ext, t, [1.0] * 6)           # the last level is never left
    assert applied == [1, 2] and ext.level == 2
    assert t.observation['level'] == 2


def test_threshold_is_inclusive_and_a_single_spike_blocks_the_switch():
    applied = []
    ext = CurriculumSwitch(Curriculum(2, applied.append), window=2, threshold=0.25, log=None)
    t = FakeTrainer()
    feed(ext, t, [1.0, 1.5])          # mean(|1.0-1.5|, 0) = 0.25 <= 0.25
    assert applied == [1]
    applied2 = []
    ext2 = CurriculumSwitch(Curriculum(2, applied2.append), window=2, threshold=0.24, log=None)
    feed(ext2, FakeTrainer(), [1.0, 1.5])
    assert applied2 == []


def test_trigger_file_and_signal(tmp_path):
    applied = []
    flag = tmp_path / 'next_level'
    ext = CurriculumSwitch(Curriculum(4, applied.append), trigger_file=str(flag),
                           signal_number=signal.SIGUSR1, log=None)
    t = FakeTrainer()
    ext.initialize(t)
    try:
        feed(ext, t, [None])
        assert applied == []
        flag.write_text('')
        feed(ext, t, [None])
        assert applied == [1] and not flag.exists()
        os.kill(os.getpid(), signal.SIGUSR1)
        feed(ext, t, [None])
        assert applied == [1, 2]
    finally:
        ext.finalize()
    assert signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, None) or \
        signal.getsignal(signal.SIGUSR1) is not ext._on_signal


def test_level_and_window_round_trip_through_a_snapshot(tmp_path):
    ext = CurriculumSwitch(Curriculum(4, lambda k: None), window=5, log=None)
    ext.curriculum.set(2)
    ext.window = [1.5, 1.25]
    path = str(tmp_path / 's.npz')
    chainer.serializers.save_npz(path, ext)
    other = CurriculumSwitch(Curriculum(4, lambda k: None), window=5, log=None)
    chainer.serializers.load_npz(path, other)
    assert other.level == 2 and other.window == [1.5, 1.25]


def test_forced_plateau_switches_level_in_a_real_run(tmp_path):
    # threshold 1e9 and a window of 1: the first validation (iteration 2) ends level 1
    run = small_run(tmp_path, iterations=6, curriculum_window=1, curriculum_threshold=1e9,
                    plot_images=0)
    assert run.model.num_regions == 1
    assert run.updater.get_iterator('main').dataset.num_words == 1
    seen = []

    class Spy(chainer.training.Extension):
        trigger = (1, 'iteration')
        priority = -1000

        def __call__(self, trainer):
            batch = trainer.updater.get_iterator('main').next()
            labels = numpy.stack([b[1] for b in batch])
            seen.append((trainer.updater.iteration, labels.shape,
                         int((labels != 0).any(axis=2).sum(axis=1).max()),
                         run.model.num_regions))

    run.trainer.extend(Spy())
    run.run()
    assert run.curriculum.level == 1 and run.level == 1
    assert run.curriculum.switches[0][:2] == (2, 1)
    assert any('level 2/2' in line for line in run.lines)
    # after the switch: labels (B, 2, T), images with two numbers appear, model N = 2
    after = [s for s in seen if s[0] >= 2]
    assert after and all(s[1][1] == 2 and s[3] == 2 for s in after)
    assert max(s[2] for s in after) == 2
    # old data is kept: one-number images, padded to two slots, still come along
    ds = run.updater.get_iterator('main').dataset
    words = [int((ds[i][1] != 0).any(axis=1).sum()) for i in range(8)]
    assert set(words) == {1, 2}
    # the model output and the loss follow: logits (B, 2, T, K), validation at level 2
    x = numpy.stack([ds[i][0] for i in range(2)])
    out = run.model(x)
    assert out.logits.shape[1:3] == (2, run.model.num_chars)
    loss, parts = run.loss(out, numpy.stack([ds[i][1] for i in range(2)]))
    assert numpy.isfinite(float(loss.array))
    assert run.evaluator.get_iterator('main').dataset.num_words == 2
    assert run.updater.iteration == 6
    import json
    log = json.load(open(os.path.join(str(tmp_path), 'log')))
    assert log[-1]['level'] == 1 and 'validation/main/loss' in log[-1]


@pytest.mark.parametrize('bad', [0])
def test_window_must_hold_a_value(bad):
    with pytest.raises(ValueError, match='window'):
        CurriculumSwitch(Curriculum(2, lambda k: None), window=bad)


def feed_accuracy(ext, trainer, values):
    feed(ext, trainer, values, key='validation/main/sequence_accuracy')


def test_accuracy_rule_needs_the_target_and_a_settled_window():
    applied, lines = [], []
    ext = CurriculumSwitch(Curriculum(3, applied.append), window=3, rule='accuracy',
                           min_accuracy=0.8, rise=0.01, log=lines.append)
    assert ext.key == 'validation/main/sequence_accuracy'
    t = FakeTrainer()
    # a flat window far below the target: the loss rule's kind of plateau is not success
    feed_accuracy(ext, t, [0.0, 0.0, 0.0, 0.0])
    assert applied == []
    # above the target but still rising: 0.85 - 0.79 = 0.06 > 0.01
    feed_accuracy(ext, t, [0.79, 0.82, 0.85])
    assert applied == []
    # window [0.85, 0.853, 0.855]: newest 0.855 >= 0.8, rose 0.005 <= 0.01
    feed_accuracy(ext, t, [0.853, None, 0.855])
    assert applied == [1] and ext.window == []
    assert 'accuracy 0.855 reached 0.80 and rose 0.005 over 3 validations' in lines[0]
    # a falling accuracy above the target is settled too (it no longer rises)
    feed_accuracy(ext, t, [0.95, 0.9, 0.86])
    assert applied == [1, 2]
    with pytest.raises(ValueError, match="rule must be one of"):
        CurriculumSwitch(Curriculum(3, applied.append), rule='iou')


def test_loss_rule_ignores_accuracy_and_accuracy_rule_ignores_loss():
    applied = []
    by_loss = CurriculumSwitch(Curriculum(2, applied.append), window=1, threshold=1e9, log=None)
    feed_accuracy(by_loss, FakeTrainer(), [1.0, 1.0])
    by_acc = CurriculumSwitch(Curriculum(2, applied.append), window=1, rule='accuracy', log=None)
    feed(by_acc, FakeTrainer(), [0.1, 0.1])
    assert applied == []


def test_accuracy_rule_from_the_command_line_switches_in_a_real_run(tmp_path):
    # target 0 and any rise: the first validation (iteration 2) ends level 1
    run = small_run(tmp_path, iterations=4, curriculum_window=1, curriculum_rule='accuracy',
                    curriculum_accuracy=0.0, curriculum_rise=1.0, curriculum_threshold=0.0,
                    plot_images=0)
    run.run()
    assert run.curriculum.rule == 'accuracy' and run.curriculum.switches[0][:2] == (2, 1)
    assert any('validation sequence accuracy' in line and 'reached 0.00' in line
               for line in run.lines)


def test_start_level_begins_a_new_run_at_that_level_with_its_data_and_shape(tmp_path):
    run = small_run(tmp_path, iterations=2, start_level=2, plot_images=0,
                    curriculum_window=50)
    assert run.level == 1 and run.curriculum.level == 1 and run.model.num_regions == 2
    assert run.updater.get_iterator('main').dataset.num_words == 2
    run.run()
    batch = run.updater.get_iterator('main').next()
    assert numpy.stack([b[1] for b in batch]).shape[1] == 2
    assert any('level 2/2' in line for line in run.lines)


def test_start_level_beyond_the_curriculum_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match=r'--start-level 3: .* has 2 curriculum level'):
        small_run(tmp_path / 'a', start_level=3)
    with pytest.raises(ValueError, match=r'--no-curriculum mixes them into one'):
        small_run(tmp_path / 'b', start_level=2, no_curriculum=True)

"""Pinned behaviour of the curriculum plateau and of the localization restart rule (issue
16, step 0): windows where measuring against another value, another statistic or a
window that is not reset gives another decision."""
import numpy
import pytest

import chainer

from chainer_see.training.levels import Curriculum
from chainer_see.training.extensions.curriculum import CurriculumSwitch
from chainer_see.training.extensions.restart import LocalizationRestart


class FakeTrainer(object):
    def __init__(self):
        self.observation = {}
        self.updater = type('U', (), {'iteration': 0})()


def feed(ext, trainer, key, values):
    """One iteration per value; ``None`` = an iteration without validation."""
    for v in values:
        trainer.updater.iteration += 1
        trainer.observation = {} if v is None else {key: v}
        with chainer.reporter.Reporter().scope(trainer.observation):
            ext(trainer)


# ---------------------------------------------------------------------- curriculum

@pytest.mark.parametrize('values, switches', [
    # mean |v - last| = (0.4 + 0 + 0 + 0 + 0) / 5 = 0.08 <= 0.1: settled
    # (against the first value: (0 + 4 * 0.4) / 5 = 0.32, not settled)
    ([1.4, 1.0, 1.0, 1.0, 1.0], [1]),
    # the newest value jumped: mean |v - last| = 4 * 0.4 / 5 = 0.32 > 0.1, not settled
    # (against the first value: 0.08, settled)
    ([1.0, 1.0, 1.0, 1.0, 1.4], []),
])
def test_loss_plateau_is_measured_against_the_newest_value(values, switches):
    applied = []
    ext = CurriculumSwitch(Curriculum(3, applied.append), window=5, threshold=0.1, log=None)
    feed(ext, FakeTrainer(), 'validation/main/loss', values)
    assert applied == switches


def test_loss_plateau_window_slides_over_the_newest_values():
    applied = []
    ext = CurriculumSwitch(Curriculum(2, applied.append), window=3, threshold=0.05, log=None)
    t = FakeTrainer()
    # windows [3, 2, 1.01], [2, 1.01, 1.0]: not settled; [1.01, 1.0, 1.0]: 0.0033 settled
    feed(ext, t, 'validation/main/loss', [3.0, None, 2.0, 1.01, 1.0])
    assert applied == [] and ext.window == [2.0, 1.01, 1.0]
    feed(ext, t, 'validation/main/loss', [None, 1.0])
    assert applied == [1] and ext.switches[0][0] == 7


# ---------------------------------------------------------------------- restart

TEXT = 'validation/main/text'


def restart_ext(boxes, **kw):
    resets = []
    args = dict(probe=lambda: boxes[0], max_restarts=1, window=3, box_tolerance=0.01,
                min_improvement=0.05, log=None)
    args.update(kw)
    return LocalizationRestart(resets.append, **args), resets


def test_every_restart_starts_a_new_window():
    # the boxes never move, the text loss falls 10 % per validation: the rule holds as
    # soon as the window is full.  After a restart the window starts empty, so the next
    # restart needs a first probe and three movements again: validations 4, 8, 12
    boxes = [numpy.zeros((2, 1, 4))]
    ext, resets = restart_ext(boxes, max_restarts=3)
    t = FakeTrainer()
    feed(ext, t, TEXT, [0.9 ** k for k in range(14)])
    assert resets == [0, 1, 2]
    assert [it for it, _ in ext.history] == [4, 8, 12]
    assert t.observation['restarts'] == 3


def test_localization_settles_by_the_mean_movement_of_the_window():
    boxes = [numpy.zeros((2, 1, 4))]
    ext, resets = restart_ext(boxes)
    t = FakeTrainer()
    # movements 0, 0, 0.02: mean 0.0067 <= 0.01 (their largest, 0.02, is not)
    for k, c in enumerate([0.0, 0.0, 0.0, 0.02]):
        boxes[0] = numpy.full((2, 1, 4), c)
        feed(ext, t, TEXT, [2.0 * 0.9 ** k])
    assert resets == [0] and ext.history[0][0] == 4


def test_localization_settles_over_the_whole_window_not_the_last_movement():
    boxes = [numpy.zeros((2, 1, 4))]
    ext, resets = restart_ext(boxes)
    t = FakeTrainer()
    # movements 0.02, 0.02, 0: mean 0.0133 > 0.01 though the last movement is 0
    for k, c in enumerate([0.0, 0.02, 0.04, 0.06, 0.06]):
        boxes[0] = numpy.full((2, 1, 4), c)
        feed(ext, t, TEXT, [2.0 * 0.9 ** k])
    assert resets == []
    assert ext.movements == pytest.approx([0.02, 0.02, 0.0])
    # one more still probe: 0.02, 0, 0 -> mean 0.0067 -> restart
    feed(ext, t, TEXT, [2.0 * 0.9 ** 5])
    assert resets == [0] and ext.history[0][0] == 6


def test_a_new_region_count_starts_the_movements_anew():
    boxes = [numpy.zeros((2, 1, 4))]
    ext, resets = restart_ext(boxes)
    t = FakeTrainer()
    feed(ext, t, TEXT, [1.0, 1.0, 1.0, 1.0])       # still boxes, flat text: no restart
    assert resets == [] and ext.localization_settled()
    # a curriculum level adds a region: the boxes of one probe have another shape, the
    # movements of the old shape no longer count; the text loss now falls
    boxes[0] = numpy.zeros((2, 2, 4))
    feed(ext, t, TEXT, [0.9])
    assert resets == [] and ext.movements == []
    feed(ext, t, TEXT, [0.8, 0.7])
    assert resets == []
    feed(ext, t, TEXT, [0.6])
    assert resets == [0] and ext.history[0][0] == 8


@pytest.mark.parametrize('texts, restarted', [
    # (1 - 0.952) / 1 = 4.8 % < 5 %: relative to the first value of the window, not
    # improving (relative to the last, 0.048 / 0.952 = 5.04 %, it would be)
    ([1.0, 0.98, 0.952], False),
    # 1 -> 0.89 over the window of 3: 11 % (the last two alone: 1.1 %)
    ([1.0, 0.9, 0.89], True),
])
def test_recognition_improves_by_the_fall_over_the_whole_window(texts, restarted):
    boxes = [numpy.zeros((2, 1, 4))]
    ext, resets = restart_ext(boxes)
    t = FakeTrainer()
    feed(ext, t, TEXT, [5.0] + texts)       # the first probe gives no movement yet
    assert resets == ([0] if restarted else [])
    if not restarted:
        assert ext.localization_settled() and not ext.recognition_improving()

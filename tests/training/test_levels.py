"""The curriculum level as one value that its readers read (training/levels.py)."""
import copy
import types

import numpy
import pytest

import chainer
from chainer.iterators import SerialIterator

from chainer_see.training.build import _replica_set_level
from chainer_see.training.extensions.restart import LocalizationRestart
from chainer_see.training.levels import Curriculum, LevelIterator, LevelView


def _level_data(level):
    """Level k: items (k, i) for i < 4 + k (so that each level has its own length)."""
    return [(level, i) for i in range(4 + level)]


def _maker(made, finalized):
    def make(level):
        it = SerialIterator(_level_data(level), 2, repeat=True, shuffle=False)
        original = it.finalize
        done = []

        def finalize():
            # once per iterator: Chainer's Iterator.__del__ finalizes again when the
            # garbage collector takes it, at a time no test controls
            if not done:
                done.append(True)
                finalized.append(level)
            original()
        it.finalize = finalize
        made.append(level)
        return it
    return make


def test_set_runs_apply_before_the_value_changes_and_refuses_other_levels():
    seen = []
    c = Curriculum(3, apply=lambda k: seen.append((k, c.level)))
    c.set(2)
    assert seen == [(2, 0)] and c.level == 2     # apply saw the old level
    for bad in (-1, 3):
        with pytest.raises(ValueError, match='is not one of the 3 levels'):
            c.set(bad)
    assert c.level == 2 and len(seen) == 1
    with pytest.raises(ValueError):
        Curriculum(0)


def test_level_view_makes_its_value_once_per_level():
    c = Curriculum(3)
    calls = []
    view = LevelView(c, lambda k: calls.append(k) or object())
    first = view.get()
    assert view.get() is first and calls == [0]
    c.set(2)
    second = view.get()
    assert second is not first and view.get() is second and calls == [0, 2]


def test_level_iterator_switches_at_the_next_batch_and_finalizes_the_old_one():
    c = Curriculum(2)
    made, finalized = [], []
    it = LevelIterator(c, _maker(made, finalized))
    assert it.next() == [(0, 0), (0, 1)] and it.dataset == _level_data(0)
    c.set(1)
    assert made == [0] and finalized == []          # nothing happens until it is read
    assert it.next() == [(1, 0), (1, 1)]
    assert made == [0, 1] and finalized == [0]
    assert it.epoch == 0 and it.batch_size == 2 and len(it.dataset) == 5
    it.next()
    it.next()                                       # 6 of the 5 items: a new epoch
    assert it.epoch == 1 and it.is_new_epoch
    it.finalize()
    assert finalized == [0, 1]


def test_level_iterator_snapshot_is_the_current_level_iterators_own(tmp_path):
    c = Curriculum(2)
    c.set(1)
    it = LevelIterator(c, _maker([], []))
    plain = SerialIterator(_level_data(1), 2, repeat=True, shuffle=False)
    for x in (it, plain):
        x.next()
        x.next()
    ours, theirs = chainer.serializers.DictionarySerializer(), \
        chainer.serializers.DictionarySerializer()
    it.serialize(ours)
    plain.serialize(theirs)
    assert sorted(ours.target) == sorted(theirs.target)
    for key in theirs.target:
        numpy.testing.assert_array_equal(ours.target[key], theirs.target[key])
    # a resume: the level first, then the state goes into that level's iterator
    c2 = Curriculum(2)
    c2.set(1)
    again = LevelIterator(c2, _maker([], []))
    again.serialize(chainer.serializers.NpzDeserializer(ours.target))
    assert again.next() == plain.next() == [(1, 4), (1, 0)]


def test_a_worker_follows_the_level_sent_to_its_copy_of_the_curriculum():
    # what a worker process of several GPUs holds after the fork: copies of the
    # curriculum and of its LevelIterator, which reads that copy
    master = Curriculum(2, label_shapes=[(1, 5), (3, 5)])
    iterator = LevelIterator(master, _maker([], []))
    context, worker_iterator = copy.deepcopy((master, iterator))
    shapes = []
    model = types.SimpleNamespace(num_chars=5, set_num_regions=shapes.append,
                                  set_num_chars=lambda t: shapes.append(('T', t)))
    worker = types.SimpleNamespace(context=context, iterator=worker_iterator,
                                   model=types.SimpleNamespace(model=model))
    assert worker.iterator.next()[0] == (0, 0)
    _replica_set_level(worker, 1)
    assert shapes == [3] and worker.iterator.next()[0] == (1, 0)
    assert master.level == 0 and iterator.next()[0] == (0, 0)   # the master's own


def test_restart_window_starts_anew_when_the_level_changes_without_being_told():
    c = Curriculum(2)
    ext = LocalizationRestart(lambda k: None, curriculum=c, max_restarts=1, log=None)
    trainer = types.SimpleNamespace(updater=types.SimpleNamespace(iteration=5),
                                    observation={'validation/main/text': 2.0})
    with chainer.reporter.Reporter().scope({}):
        ext(trainer)
        ext(trainer)
        assert ext.texts == [2.0, 2.0]
        c.set(1)
        ext(trainer)
    assert ext.texts == [2.0]                       # emptied, then this call's value

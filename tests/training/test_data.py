"""Curriculum data: levels added to the old ones, labels padded, shards disjoint."""
import numpy
import pytest

from chainer_see.training.data import (
    Concatenated, CurriculumData, Interleaved, Shard, make_iterator)
from tests.training.helpers import random_levels


class Items(object):
    def __init__(self, name, n, words=1, chars=5):
        self.name, self.n, self.num_words, self.max_chars = name, n, words, chars

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return (self.name, i)

    def true_boxes(self, i):
        return (self.name, i, 'boxes')


def test_interleaved_concatenated_and_shards():
    a, b = Items('a', 5), Items('b', 3, words=2)
    il = Interleaved([a, b])
    assert len(il) == 6 and [il[i] for i in range(4)] == [('a', 0), ('b', 0), ('a', 1), ('b', 1)]
    assert il.true_boxes(3) == ('b', 1, 'boxes') and il.num_words == 1
    cc = Concatenated([a, b])
    assert len(cc) == 8 and cc[4] == ('a', 4) and cc[5] == ('b', 0) and cc[-1] == ('b', 2)
    with pytest.raises(IndexError):
        cc[8]
    shards = [Shard(cc, k, 3) for k in range(3)]
    assert [len(s) for s in shards] == [2, 2, 2]
    seen = [s[i] for s in shards for i in range(2)]
    assert len(set(seen)) == 6 and shards[2].true_boxes(1) == ('b', 0, 'boxes')


def test_levels_add_data_and_pad_labels():
    data = CurriculumData(random_levels((1, 2, 3), train_size=30, validation_size=4))
    assert data.num_levels == 3
    assert [data.label_shape(k) for k in range(3)] == [(1, 5), (2, 5), (3, 5)]
    ds, shuffle = data.train(2)
    assert not shuffle and len(ds) == 90            # synthetic: in order, interleaved
    counts = [int((ds[i][1] != 0).any(axis=1).sum()) for i in range(6)]
    assert counts == [1, 2, 3, 1, 2, 3]
    assert all(ds[i][1].shape == (3, 5) for i in range(3))
    val = data.validation(2)
    assert len(val) == 4 and val[0][1].shape == (3, 5)
    assert {int((val[i][1] != 0).any(axis=1).sum()) for i in range(4)} == {3}
    mixed = CurriculumData(data.levels, curriculum=False)
    assert mixed.num_levels == 1 and mixed.label_shape(0) == (3, 5)
    assert len(mixed.validation(0)) == 12 and 'mixed' in mixed.name(0)
    with pytest.raises(ValueError, match='level 3 does not exist'):
        data.train(3)


def test_replace_trains_each_level_on_its_own_data():
    levels = random_levels((1, 2, 3), train_size=30, validation_size=4)
    data = CurriculumData(levels, mix='replace')
    assert [data.label_shape(k) for k in range(3)] == [(1, 5), (2, 5), (3, 5)]
    ds, _ = data.train(1)
    assert len(ds) == 30
    # every image of level 2 holds two words: no slot learns to read nothing there
    assert {int((ds[i][1] != 0).any(axis=1).sum()) for i in range(8)} == {2}
    assert len(data.validation(1)) == 4
    # the box choice keeps its salt (the level's place in the curriculum)
    boxed = CurriculumData(levels, mix='replace', box_fraction=1.0)
    added = CurriculumData(levels, box_fraction=1.0)
    assert boxed.train(2)[0].salt == added.train(2)[0].datasets[2].salt == 2
    with pytest.raises(ValueError, match="mix must be one of"):
        CurriculumData(levels, mix='swap')


def test_shards_split_levels_between_replicas():
    levels = random_levels((1, 2), train_size=20, validation_size=4)
    parts = [CurriculumData(levels, shard_index=k, shard_count=2) for k in range(2)]
    t0, t1 = (p.train(1)[0] for p in parts)
    assert len(t0) == len(t1) == 20
    x0 = numpy.stack([t0[i][0] for i in range(4)])
    x1 = numpy.stack([t1[i][0] for i in range(4)])
    assert not numpy.array_equal(x0, x1)
    assert len(parts[0].validation(1)) == 2 and len(parts[0].validation(1, full=True)) == 4


@pytest.mark.parametrize('loader', ['serial', 'thread', 'process'])
def test_iterators_give_the_same_batches(loader):
    levels = random_levels((1,), train_size=12, validation_size=4)
    ds = levels[0].train
    it = make_iterator(ds, 4, train=True, shuffle=False, loader=loader, workers=2)
    try:
        batch = it.next()
    finally:
        it.finalize()
    numpy.testing.assert_array_equal(numpy.stack([b[0] for b in batch]),
                                     numpy.stack([ds[i][0] for i in range(4)]))
    val = make_iterator(levels[0].validation, 3, train=False)
    assert [len(b) for b in val] == [3, 1]

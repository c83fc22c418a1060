"""random_layout: non-overlapping squares, deterministic, and no dead end for four
numbers on 200x200 (greedy placement alone fails for seed 1402)."""
import numpy
import pytest

from chainer_see.data import compose


def _check(places, canvas, min_size, max_size, gap=2):
    H, W = canvas
    for k, (x, y, w, h) in enumerate(places):
        assert w == h and min_size <= w <= max_size
        assert 0 <= x and x + w <= W and 0 <= y and y + h <= H
        for other in places[:k]:
            assert not compose._overlap((x, y, w, h), other, gap)


def test_seed_where_greedy_placement_dead_ends_now_gets_a_layout():
    rng = numpy.random.RandomState(1402)
    assert compose._greedy_layout(rng, 4, (200, 200), 48, 96, 2, 200) is None
    places = compose.random_layout(numpy.random.RandomState(1402), 4, (200, 200), 48, 96)
    assert len(places) == 4
    _check(places, (200, 200), 48, 96)


def test_first_attempt_layouts_are_unchanged_and_deterministic():
    for seed in range(50):
        a = compose.random_layout(numpy.random.RandomState(seed), 4, (200, 200), 48, 96)
        b = compose._greedy_layout(numpy.random.RandomState(seed), 4, (200, 200), 48, 96,
                                   2, 200)
        assert a == b
        _check(a, (200, 200), 48, 96)


def test_impossible_request_is_a_clear_error():
    with pytest.raises(RuntimeError, match='cannot place 5 squares of at least 90 px'):
        compose.random_layout(numpy.random.RandomState(0), 5, (200, 200), 90, 96,
                              restarts=3)

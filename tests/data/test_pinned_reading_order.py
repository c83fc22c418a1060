"""Pinned behaviour of the reading order and the box helpers (issue 16, step 0): the
rules of ``chainer_see.data.reading_order`` on boxes where another reading of a rule
(the larger height, ``>=`` for "more than", the right edge, the reversed index) gives
another order, and the edges of ``ink_box`` / ``union_box``."""
import numpy

from chainer_see.data.boxes import ink_box, union_box
from chainer_see.data.reading_order import reading_order, sort_in_reading_order


def test_same_line_uses_the_smaller_height():
    # a tall box (height 100) and a short one (height 20) sharing 20 px: more than half of
    # the smaller height -> one line, left to right; half of the larger (50) is not reached
    tall = [50, 0, 70, 100]
    short = [0, 80, 30, 100]
    assert reading_order([tall, short]) == [1, 0]
    assert reading_order([short, tall]) == [0, 1]
    # sharing 9 of the short box's 20 px: less than half -> two lines, the tall one first
    assert reading_order([tall, [0, 91, 30, 111]]) == [0, 1]


def test_overlap_of_exactly_half_is_not_the_same_line():
    # 5 px shared, smaller height 10: "more than half" is not met -> two lines, top first
    assert reading_order([[50, 0, 60, 10], [0, 5, 10, 25]]) == [0, 1]
    assert reading_order([[50, 0, 60, 10], [0, 4.9, 10, 25]]) == [1, 0]
    assert reading_order([[50, 0, 60, 10], [0, 5, 10, 25]], overlap=0.4) == [1, 0]


def test_inside_a_line_boxes_go_by_their_left_edge_then_top_then_index():
    wide = [0, 0, 100, 20]          # starts left, ends far right
    narrow = [10, 0, 20, 20]        # starts right of it, ends before it
    assert reading_order([narrow, wide]) == [1, 0]
    # same left edge: the higher one first, whatever the index
    assert reading_order([[5, 4, 15, 24], [5, 0, 15, 20]]) == [1, 0]
    assert reading_order([[5, 0, 15, 20], [5, 4, 15, 24]]) == [0, 1]
    # same left edge and top: the original index decides
    assert reading_order([[5, 0, 15, 20], [5, 0, 25, 20], [5, 0, 9, 20]]) == [0, 1, 2]


def test_sort_in_reading_order_moves_the_words_with_their_boxes():
    boxes, words = sort_in_reading_order([[50, 0, 70, 100], [0, 80, 30, 100]],
                                         ['tall', 'short'])
    assert words == ['short', 'tall']
    numpy.testing.assert_array_equal(boxes, [[0, 80, 30, 100], [50, 0, 70, 100]])


def test_ink_box_spans_the_outer_edges_of_the_ink():
    m = numpy.zeros((6, 8))
    m[1:4, 2:7] = 1.0                                     # rows 1..3, columns 2..6
    numpy.testing.assert_array_equal(ink_box(m), [1.5, 0.5, 6.5, 3.5])
    m[5, 0] = 0.4                                         # below the threshold
    numpy.testing.assert_array_equal(ink_box(m), [1.5, 0.5, 6.5, 3.5])
    assert ink_box(numpy.zeros((3, 3))) is None


def test_union_box_holds_every_box():
    numpy.testing.assert_array_equal(
        union_box([[2, 5, 4, 9], [0, 6, 3, 7], [1, 1, 8, 3]]), [0, 1, 8, 9])

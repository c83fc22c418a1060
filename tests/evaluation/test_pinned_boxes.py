"""Pinned behaviour of the reading-order IoU and box areas (issue 16, step 0): words in
later slots than the first ones, boxes inverted along y."""
import numpy
import pytest

from chainer_see.evaluation.boxes import box_area, box_iou, reading_order_ious


def test_words_in_later_slots_are_matched_with_the_region_of_their_slot():
    # 4 word slots; words only in slots 1 and 3 (0 and 2 empty); 2 views, region-major
    labels = numpy.array([[0, 0], [7, 0], [0, 0], [2, 5]], numpy.int32)
    pred = numpy.array([
        [0, 0, 2, 2], [20, 0, 22, 2],      # region 0 (slot 0, empty)
        [0, 0, 4, 2], [20, 0, 24, 2],      # region 1 (slot 1: word 0)
        [5, 5, 6, 6], [25, 5, 26, 6],      # region 2 (slot 2, empty)
        [0, 0, 1, 1], [20, 0, 21, 1],      # region 3 (slot 3: word 1)
    ], numpy.float32)
    true = numpy.array([
        [0, 0, 2, 2], [20, 0, 24, 2],      # word 0 (slot 1), views 0 and 1
        [0, 0, 2, 2], [30, 0, 32, 2],      # word 1 (slot 3)
    ], numpy.float32)
    ious = reading_order_ious(pred, true, labels, views=2)
    # word 0 vs region 1: 4 / 8 and 1; word 1 vs region 3: 1 / 4 and 0
    assert ious == pytest.approx([0.5, 1.0, 0.25, 0.0], abs=1e-12)
    # (region j by word index would give word 0 region 0 (1, 0.5), word 1 region 1 (0.5, 0))


def test_a_later_slot_beyond_the_regions_gets_zero_and_earlier_gaps_do_not_shift_words():
    labels = numpy.array([[0], [3], [4]], numpy.int32)     # words in slots 1 and 2
    pred = numpy.array([[0, 0, 1, 1], [0, 0, 2, 2]], numpy.float32)   # 2 regions only
    true = numpy.array([[0, 0, 2, 2], [0, 0, 1, 1]], numpy.float32)
    # word 0 (slot 1) meets region 1: 1; word 1 (slot 2) has no region: 0
    assert reading_order_ious(pred, true, labels).tolist() == [1.0, 0.0]


def test_box_inverted_along_y_has_no_area():
    assert box_area([1, 5, 2, 2]) == 0.0              # y_max < y_min
    assert box_area([[0, 0, 2, 3], [0, 3, 2, 0]]).tolist() == [6.0, 0.0]
    assert box_iou([0, 0, 2, 2], [0, 2, 2, 0]) == 0.0
    assert box_iou([0, 0, 4, 4], [0, 1, 4, 3]) == pytest.approx(8.0 / 16.0)

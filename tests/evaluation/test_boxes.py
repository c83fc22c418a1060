"""IoU and the reading-order matching, on boxes worked out by hand."""
import numpy
import pytest

from chainer_see.evaluation.boxes import box_area, box_iou, reading_order_ious


@pytest.mark.parametrize('a, b, expected', [
    ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),                 # identical
    ([0, 0, 2, 2], [1, 0, 3, 2], 2.0 / 6.0),           # half overlap: 2 / (4 + 4 - 2)
    ([0, 0, 4, 4], [1, 1, 3, 3], 4.0 / 16.0),          # contained
    ([0, 0, 2, 2], [2, 0, 4, 2], 0.0),                 # touching edges: no area shared
    ([0, 0, 2, 2], [5, 5, 6, 6], 0.0),                 # disjoint
    ([-0.5, -0.5, 1.5, 0.5], [0.5, -0.5, 2.5, 0.5], 1.0 / 3.0),  # pixel-edge coordinates
    ([0, 0, 3, 1], [1, 0, 2, 5], 1.0 / 7.0),           # cross: 1 / (3 + 5 - 1)
    ([1, 1, 1, 3], [0, 0, 2, 2], 0.0),                 # zero-width box
    ([1, 1, 1, 1], [1, 1, 1, 1], 0.0),                 # two empty boxes: 0, not NaN
    ([3, 0, 1, 2], [1, 0, 3, 2], 0.0),                 # inverted box has no area
])
def test_iou_of_hand_made_boxes(a, b, expected):
    assert box_iou(a, b) == pytest.approx(expected, abs=1e-12)
    assert box_iou(b, a) == pytest.approx(expected, abs=1e-12)


def test_area_is_continuous_and_zero_for_inverted_boxes():
    assert box_area([-0.5, -0.5, 9.5, 4.5]) == 50.0   # a 10x5 image, edge to edge
    assert box_area([2, 2, 1, 5]) == 0.0


def test_iou_broadcasts():
    a = numpy.array([[0, 0, 2, 2], [0, 0, 4, 4]], numpy.float32)
    b = numpy.array([1, 1, 3, 3], numpy.float32)
    assert box_iou(a, b) == pytest.approx([1.0 / 7.0, 4.0 / 16.0])
    assert box_iou(a[:, None], a[None]).shape == (2, 2)


def test_reading_order_matches_region_k_with_word_k_per_view():
    # 3 word slots, 2 of them hold words; 2 views; region-major (n * V + v)
    labels = numpy.array([[3, 4, 0], [5, 0, 0], [0, 0, 0]], numpy.int32)
    pred = numpy.array([
        [0, 0, 2, 2], [10, 0, 12, 2],      # region 0, views 0 and 1
        [0, 0, 4, 4], [10, 0, 14, 4],      # region 1
        [7, 7, 8, 8], [17, 7, 18, 8],      # region 2 (empty slot: not compared)
    ], numpy.float32)
    true = numpy.array([
        [0, 0, 2, 2], [11, 0, 13, 2],      # word 0: IoU 1 and 1/3
        [1, 1, 3, 3], [30, 0, 31, 1],      # word 1: IoU 1/4 and 0
    ], numpy.float32)
    ious = reading_order_ious(pred, true, labels, views=2)
    assert ious == pytest.approx([1.0, 1.0 / 3.0, 0.25, 0.0])


def test_a_word_beyond_the_model_regions_gets_iou_zero():
    labels = numpy.array([[1], [2]], numpy.int32)          # two words
    pred = numpy.array([[0, 0, 2, 2]], numpy.float32)       # the model has one region
    true = numpy.array([[0, 0, 2, 2], [0, 0, 2, 2]], numpy.float32)
    assert reading_order_ious(pred, true, labels).tolist() == [1.0, 0.0]


def test_boxes_and_labels_that_disagree_are_refused():
    labels = numpy.array([[1], [2]], numpy.int32)
    with pytest.raises(ValueError, match='3 true boxes for 2 words x 1 views'):
        reading_order_ious(numpy.zeros((2, 4)), numpy.zeros((3, 4)), labels)

"""Metrics on hand-written predictions (class ids; 0 = blank)."""
import math

import numpy
import pytest

from chainer_see.data.char_map import CharMap
from chainer_see.evaluation import metrics

CM = CharMap(['_', 'a', 'b', 'c', 'd'], name='abcd')


def ids(*words):
    """One image: words given as strings over '_abcd' padded to T=4 with blanks."""
    return [[CM.chars.index(ch) for ch in w.ljust(4, '_')] for w in words]


# 3 images x 2 word slots x 4 characters
LABELS = numpy.array([
    ids('ab', 'cd'),
    ids('abc', ''),        # second slot empty
    ids('d', 'aa'),
], numpy.int32)
PRED = numpy.array([
    ids('a_b', 'cd__'),    # blank in the middle of a word: still 'ab' -> right; 'cd' right
    ids('abc', ''),        # right, empty slot predicted empty
    ids('d', 'aab'),       # 'd' right, 'aab' vs 'aa' wrong (one extra char)
], numpy.int32)


def test_strip_blanks_keeps_order():
    s, n = metrics.strip_blanks(numpy.array([[0, 3, 0, 4], [2, 0, 0, 0], [0, 0, 0, 0]]))
    numpy.testing.assert_array_equal(s, [[3, 4, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]])
    numpy.testing.assert_array_equal(n, [2, 1, 0])


def test_word_correct_and_accuracies():
    numpy.testing.assert_array_equal(metrics.word_correct(PRED, LABELS),
                                     [[True, True], [True, True], [True, False]])
    assert metrics.sequence_accuracy(PRED, LABELS) == pytest.approx(2 / 3)
    # 5 label words exist, 4 of them right; the empty slot does not count here
    assert metrics.word_accuracy(PRED, LABELS) == pytest.approx(4 / 5)
    # published: 6 slots, the empty one predicted empty counts as right
    assert metrics.published_accuracy(PRED, LABELS) == pytest.approx(5 / 6)


def test_text_predicted_in_an_empty_slot():
    pred = PRED.copy()
    pred[1, 1] = ids('b')[0]
    assert metrics.sequence_accuracy(pred, LABELS) == pytest.approx(1 / 3)
    assert metrics.word_accuracy(pred, LABELS) == pytest.approx(4 / 5)    # unchanged
    assert metrics.published_accuracy(pred, LABELS) == pytest.approx(4 / 6)
    # char accuracy: slot lengths max(2,2)+max(2,2)+max(3,3)+max(0,1)+max(1,1)+max(2,3)
    assert metrics.char_accuracy(pred, LABELS) == pytest.approx((2 + 2 + 3 + 0 + 1 + 2) / 12)


def test_char_accuracy_and_edit_distance():
    # matches 2+2+3+1+2 over max lengths 2+2+3+1+3 (empty/empty slot skipped)
    assert metrics.char_accuracy(PRED, LABELS) == pytest.approx(10 / 11)
    numpy.testing.assert_array_equal(metrics.edit_distances(PRED, LABELS),
                                     [[0, 0], [0, 0], [0, 1]])
    assert metrics.normalized_edit_distance(PRED, LABELS) == pytest.approx((1 / 3) / 5)


def test_edit_distance_cases():
    lab = numpy.array([ids('abcd', 'abc', 'ab', '', 'abcd')], numpy.int32)
    pred = numpy.array([ids('bcd', 'cba', '', 'dd', 'a_b_')], numpy.int32)
    # deletion; 'abc'->'cba' 2 substitutions; 2 deletions; 2 insertions; 'ab' vs 'abcd'
    numpy.testing.assert_array_equal(metrics.edit_distances(pred, lab), [[1, 2, 2, 2, 2]])
    assert metrics.normalized_edit_distance(pred, lab) == pytest.approx(
        (1 / 4 + 2 / 3 + 2 / 2 + 2 / 2 + 2 / 4) / 5)
    # shifted characters are wrong position by position
    assert metrics.char_accuracy(pred, lab) == pytest.approx(
        (0 + 1 + 0 + 0 + 2) / (4 + 3 + 2 + 2 + 4))


def test_logits_are_decoded_by_argmax():
    logits = numpy.full(LABELS.shape + (5,), -1.0)
    numpy.put_along_axis(logits, PRED[..., None].astype(numpy.int64), 1.0, axis=-1)
    assert metrics.evaluate(logits, LABELS) == metrics.evaluate(PRED, LABELS)
    assert metrics.evaluate(PRED, LABELS)['sequence_accuracy'] == pytest.approx(2 / 3)


def test_all_empty_batch_and_shape_errors():
    empty = numpy.zeros((2, 3, 4), numpy.int32)
    assert metrics.sequence_accuracy(empty, empty) == 1.0
    assert math.isnan(metrics.word_accuracy(empty, empty))
    assert math.isnan(metrics.char_accuracy(empty, empty))
    assert math.isnan(metrics.normalized_edit_distance(empty, empty))
    with pytest.raises(ValueError, match='differ in shape'):
        metrics.word_correct(empty, empty[:, :2])


def test_decoding_to_text():
    assert metrics.decode(PRED, CM) == [['ab', 'cd'], ['abc', ''], ['d', 'aab']]
    assert metrics.labels_to_text(LABELS, CM, separator=' ') == ['ab cd', 'abc', 'd aa']
    svhn = CharMap.load('svhn')
    assert metrics.decode(numpy.array([1, 0, 10, 0, 5]), svhn) == '105'

"""CTC decoding, the forward algorithm and Chainer's CTC loss, on path sums written out by
hand and on random inputs."""
import math

import numpy
import pytest

import chainer
from chainer import gradient_check

from chainer_see.evaluation.ctc_decode import (
    chainer_ctc_loss, confidence, ctc_loss_numpy, greedy_decode, log_softmax, min_columns,
    sequence_log_probability)

# Three columns, three classes (0 blank, 1, 2); the logits are log-probabilities, so the
# softmax gives back exactly these numbers.
P = numpy.array([[0.5, 0.3, 0.2],
                 [0.1, 0.6, 0.3],
                 [0.2, 0.1, 0.7]])


def _p(t, c):
    return P[t, c]


# p('12'): every 3-column path that collapses to 1 2 (. is the blank).
P_12 = (_p(0, 1) * _p(1, 1) * _p(2, 2)      # 1 1 2
        + _p(0, 1) * _p(1, 2) * _p(2, 2)    # 1 2 2
        + _p(0, 0) * _p(1, 1) * _p(2, 2)    # . 1 2
        + _p(0, 1) * _p(1, 0) * _p(2, 2)    # 1 . 2
        + _p(0, 1) * _p(1, 2) * _p(2, 0))   # 1 2 .
# p('11'): the only path is 1 . 1.
P_11 = _p(0, 1) * _p(1, 0) * _p(2, 1)
# p(''): . . .
P_EMPTY = _p(0, 0) * _p(1, 0) * _p(2, 0)
# p('2'): 2 2 2, . 2 2, . . 2, 2 2 ., 2 . ., . 2 .
P_2 = (_p(0, 2) * _p(1, 2) * _p(2, 2) + _p(0, 0) * _p(1, 2) * _p(2, 2)
       + _p(0, 0) * _p(1, 0) * _p(2, 2) + _p(0, 2) * _p(1, 2) * _p(2, 0)
       + _p(0, 2) * _p(1, 0) * _p(2, 0) + _p(0, 0) * _p(1, 2) * _p(2, 0))


def test_hand_sums_have_the_expected_values():
    # The numbers themselves, so that a typo in a product above cannot go unseen.
    assert P_12 == pytest.approx(0.3 * 0.6 * 0.7 + 0.3 * 0.3 * 0.7 + 0.5 * 0.6 * 0.7
                                 + 0.3 * 0.1 * 0.7 + 0.3 * 0.3 * 0.2)
    assert P_12 == pytest.approx(0.126 + 0.063 + 0.21 + 0.021 + 0.018)   # 0.438
    assert P_11 == pytest.approx(0.003)
    assert P_EMPTY == pytest.approx(0.01)


@pytest.mark.parametrize('label, expected', [
    ([1, 2], P_12), ([1, 1], P_11), ([], P_EMPTY), ([2], P_2),
])
def test_forward_algorithm_equals_the_path_sum(label, expected):
    lp = numpy.log(P)
    assert sequence_log_probability(lp, label) == pytest.approx(math.log(expected), abs=1e-12)
    assert confidence(lp, label) == pytest.approx(expected, abs=1e-12)
    # Logits shifted per column give the same probabilities.
    shifted = lp + numpy.array([[3.0], [-1.0], [10.0]])
    assert sequence_log_probability(shifted, label) == pytest.approx(math.log(expected),
                                                                    abs=1e-12)


def test_probabilities_of_all_labels_sum_to_one():
    # Every path of 3 columns over 3 classes reads exactly one label of length <= 3.
    rng = numpy.random.RandomState(0)
    lp = log_softmax(rng.randn(3, 3))
    labels = [[]]
    for n in (1, 2, 3):
        labels += [list(x) for x in numpy.ndindex(*(2,) * n)]
    labels = [[c + 1 for c in label] for label in labels]
    total = sum(confidence(lp, label) for label in labels)
    assert total == pytest.approx(1.0, abs=1e-12)


def test_labels_that_do_not_fit_have_probability_zero():
    lp = numpy.log(P)
    assert min_columns([1, 1, 1]) == 5
    assert min_columns([1, 2, 1]) == 3
    assert sequence_log_probability(lp, [1, 1, 2]) == -numpy.inf   # needs 4 columns
    assert sequence_log_probability(lp, [1, 2, 1, 2]) == -numpy.inf
    assert confidence(lp, [2, 2, 2]) == 0.0
    # [1, 2, 1] fits exactly: its only path is 1 2 1.
    assert confidence(lp, [1, 2, 1]) == pytest.approx(0.3 * 0.3 * 0.1)


def test_blank_inside_a_label_is_refused():
    with pytest.raises(ValueError, match='blank'):
        sequence_log_probability(numpy.log(P), [1, 0, 2])


def test_numpy_loss_is_the_mean_of_the_hand_sums():
    logits = numpy.log(numpy.stack([P, P, P]))
    labels = numpy.array([[1, 2, 0], [0, 0, 0], [1, 1, 0]])
    expected = -(math.log(P_12) + math.log(P_EMPTY) + math.log(P_11)) / 3
    assert ctc_loss_numpy(logits, labels) == pytest.approx(expected, abs=1e-12)
    assert ctc_loss_numpy(logits[:1], numpy.array([[1, 2]])) == pytest.approx(
        -math.log(P_12), abs=1e-12)


@pytest.mark.parametrize('dtype, tol', [(numpy.float64, 1e-12), (numpy.float32, 1e-5)])
def test_chainer_loss_is_the_mean_of_the_hand_sums(dtype, tol):
    logits = numpy.log(numpy.stack([P, P, P])).astype(dtype)
    labels = numpy.array([[1, 2, 0], [0, 0, 0], [1, 1, 0]], dtype=numpy.int32)
    expected = -(math.log(P_12) + math.log(P_EMPTY) + math.log(P_11)) / 3
    loss = chainer_ctc_loss(chainer.Variable(logits), labels)
    assert loss.shape == ()
    assert float(loss.array) == pytest.approx(expected, abs=tol)


def test_chainer_loss_with_every_label_empty_is_the_blank_path():
    logits = numpy.log(numpy.stack([P, P]))
    labels = numpy.zeros((2, 4), dtype=numpy.int32)
    loss = chainer_ctc_loss(chainer.Variable(logits), labels)
    assert float(loss.array) == pytest.approx(-math.log(P_EMPTY), abs=1e-12)


def test_chainer_loss_gradient_of_all_blank_labels():
    x = chainer.Variable(numpy.log(numpy.stack([P, P])))
    loss = chainer_ctc_loss(x, numpy.zeros((2, 4), dtype=numpy.int32))
    loss.backward()
    # d(-log p(. . .)) / d logits = softmax - onehot(blank) in every column; the mean over
    # the batch of 2 halves it.
    expected = (P - numpy.eye(3)[[0, 0, 0]]) / 2
    numpy.testing.assert_allclose(x.grad, numpy.stack([expected, expected]), atol=1e-12)


def test_labels_with_blanks_inside_are_moved_to_the_front():
    logits = numpy.log(numpy.stack([P]))
    padded = numpy.array([[0, 1, 0, 2]], dtype=numpy.int32)
    assert ctc_loss_numpy(logits, padded) == pytest.approx(-math.log(P_12), abs=1e-12)
    assert float(chainer_ctc_loss(logits, padded).array) == pytest.approx(
        -math.log(P_12), abs=1e-12)


def test_chainer_loss_refuses_labels_that_do_not_fit():
    logits = numpy.log(numpy.stack([P, P]))
    labels = numpy.array([[1, 0], [1, 1]], dtype=numpy.int32)
    with pytest.raises(ValueError, match='label 1'):
        chainer_ctc_loss(logits, numpy.array([[1, 0, 0], [1, 1, 2]], dtype=numpy.int32))
    # Two equal labels need the blank between them: 3 columns are enough for [1, 1].
    assert numpy.isfinite(float(chainer_ctc_loss(logits, labels).array))
    assert ctc_loss_numpy(logits, numpy.array([[2, 2, 2], [1, 0, 0]])) == numpy.inf


def _random_batch(seed, dtype):
    rng = numpy.random.RandomState(seed)
    logits = (rng.randn(3, 7, 5) * 2).astype(dtype)
    labels = numpy.zeros((3, 4), dtype=numpy.int32)
    labels[0, :4] = [1, 2, 2, 4]      # a repeat: needs 5 of the 7 columns
    labels[1, :2] = rng.randint(1, 5, size=2)
    # labels[2] stays empty
    return logits, labels


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_chainer_and_numpy_losses_agree_on_random_batches(seed, dtype):
    logits, labels = _random_batch(seed, dtype)
    ref = ctc_loss_numpy(logits.astype(numpy.float64), labels)
    got = float(chainer_ctc_loss(chainer.Variable(logits), labels).array)
    assert abs(got - ref) <= 1e-5 * max(1.0, abs(ref))
    assert ref > 0


@pytest.mark.parametrize('seed', [0, 1])
def test_chainer_loss_gradient_check(seed):
    logits, labels = _random_batch(seed, numpy.float64)
    logits = logits[:, :5]                    # smaller: 3 x 5 x 5
    labels = labels.copy()
    labels[0] = [1, 2, 2, 0]                  # needs 4 of the 5 columns
    gradient_check.check_backward(
        lambda x: chainer_ctc_loss(x, labels), logits, None, dtype=numpy.float64,
        atol=1e-6, rtol=1e-5)


def test_chainer_gradient_matches_finite_differences_of_the_numpy_loss():
    logits, labels = _random_batch(3, numpy.float64)
    x = chainer.Variable(logits.copy())
    chainer_ctc_loss(x, labels).backward()
    eps = 1e-6
    numeric = numpy.zeros_like(logits)
    for idx in numpy.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (ctc_loss_numpy(up, labels) - ctc_loss_numpy(down, labels)) / (2 * eps)
    numpy.testing.assert_allclose(x.grad, numeric, atol=1e-7)


def test_greedy_collapses_repeats():
    # argmax per column: 1 1 2 2 2 -> [1, 2]
    ids = [1, 1, 2, 2, 2]
    scores = numpy.eye(4)[ids][None] * 5.0
    assert greedy_decode(scores) == [[1, 2]]


def test_greedy_blank_between_repeats_keeps_both():
    ids = [0, 3, 3, 0, 3, 0, 0, 1, 0, 1, 1]
    scores = numpy.eye(4)[ids][None]
    assert greedy_decode(scores) == [[3, 3, 1, 1]]


def test_greedy_all_blank_is_empty_and_batches_are_independent():
    probs = numpy.zeros((3, 4, 3))
    probs[0, :, 0] = 0.9                        # all blank
    probs[1, :, 2] = 0.9                        # 2 2 2 2 -> [2]
    probs[2] = numpy.eye(3)[[2, 0, 2, 1]] * 0.8  # 2 . 2 1 -> [2, 2, 1]
    assert greedy_decode(probs) == [[], [2], [2, 2, 1]]
    # Log-probabilities decode the same, and (W, K) is a batch of one.
    assert greedy_decode(numpy.log(probs + 0.01)) == [[], [2], [2, 2, 1]]
    assert greedy_decode(probs[2]) == [[2, 2, 1]]
    assert greedy_decode(chainer.Variable(probs)) == [[], [2], [2, 2, 1]]


def test_log_softmax_is_stable_and_normalized():
    x = numpy.array([[1000.0, 1000.0, 999.0], [-1000.0, 0.0, -5.0]])
    lp = log_softmax(x)
    assert numpy.all(numpy.isfinite(lp))
    numpy.testing.assert_allclose(numpy.exp(lp).sum(axis=-1), [1.0, 1.0], atol=1e-12)
    e = math.exp(-1.0)
    numpy.testing.assert_allclose(lp[0], [-math.log(2 + e)] * 2 + [-1 - math.log(2 + e)],
                                  atol=1e-12)
    numpy.testing.assert_allclose(log_softmax(lp), lp, atol=1e-12)

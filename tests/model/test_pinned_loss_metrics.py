"""Pinned behaviour of the loss's word weights and of blank stripping (issue 16, step 0):
each test fails on a one-line change that the rest of the suite let through."""
import math

import numpy
import pytest

import chainer

from chainer_see import SEEOutput
from chainer_see.evaluation import metrics
from chainer_see.training.loss import FSNS_WORD_WEIGHTS, SEELoss


def _slot_logits(B, N, T, K, boosts):
    """Zero logits except class 0 of slot n, raised by ``boosts[n]``: with all-blank labels
    the cross-entropy of every character of slot n is ``log(e^a + K - 1) - a``."""
    logits = numpy.zeros((B, N, T, K), numpy.float64)
    logits[:, :, :, 0] = numpy.asarray(boosts, numpy.float64)[None, :, None]
    return logits


def _ce(a, K):
    return math.log(math.exp(a) + K - 1) - a


@pytest.mark.parametrize('N', [1, 2, 3])
def test_fsns_word_weights_are_the_first_n_of_the_published_four(N):
    # FSNS weights (1, 1.25, 2, 1.25): with N < 4 slots the loss uses the first N, in
    # slot order (a model with 2 slots weighs them 1 and 1.25, not 2 and 1.25)
    B, T, K = 2, 3, 5
    boosts = [0.0, 1.0, 2.0][:N]
    logits = chainer.Variable(_slot_logits(B, N, T, K, boosts))
    labels = numpy.zeros((B, N, T), numpy.int32)
    loss, parts = SEELoss('fsns', word_weights=FSNS_WORD_WEIGHTS)(
        SEEOutput(logits, None, None, None), labels)
    w = FSNS_WORD_WEIGHTS[:N]
    # fsns: mean_n w_n sum_t mean_b CE
    expected = sum(w[n] * T * _ce(boosts[n], K) for n in range(N)) / N
    assert float(loss.array) == pytest.approx(expected, rel=1e-10)
    assert parts['text'] == pytest.approx(expected, rel=1e-10)
    loss.backward()
    # the gradient of slot n is w_n / (N B) times that of one character's cross-entropy
    g = logits.grad[0, :, 0, 0]                    # d/d(blank logit) of step 0, per slot
    for n in range(N):
        p = math.exp(boosts[n]) / (math.exp(boosts[n]) + K - 1)
        assert g[n] == pytest.approx(w[n] * (p - 1) / (N * B), rel=1e-10)


@pytest.mark.parametrize('mode', ['svhn', 'paper'])
def test_word_weights_follow_the_slots_in_every_mode(mode):
    # three slots, four weights: slot n gets weight n of the list, never one from its end
    B, N, T, K = 2, 3, 4, 6
    weights = (1.0, 3.0, 0.5, 7.0)
    boosts = [0.5, -1.0, 2.0]
    logits = chainer.Variable(_slot_logits(B, N, T, K, boosts))
    labels = numpy.zeros((B, N, T), numpy.int32)
    loss, _ = SEELoss(mode, word_weights=weights)(SEEOutput(logits, None, None, None), labels)
    per_char = [_ce(a, K) for a in boosts]
    if mode == 'svhn':      # sum_n w_n mean_{b,t} CE
        expected = sum(weights[n] * per_char[n] for n in range(N))
    else:                   # mean_b sum_n w_n sum_t CE
        expected = sum(weights[n] * T * per_char[n] for n in range(N))
    assert float(loss.array) == pytest.approx(expected, rel=1e-10)
    # the same loss with exactly N weights: the extra one at the end changes nothing
    exact, _ = SEELoss(mode, word_weights=weights[:N])(
        SEEOutput(chainer.Variable(logits.array.copy()), None, None, None), labels)
    assert float(exact.array) == pytest.approx(expected, rel=1e-12)


def _strip_by_hand(row):
    kept = [int(c) for c in row if c != 0]
    return kept + [0] * (len(row) - len(kept))


@pytest.mark.parametrize('T', [17, 21, 32])
def test_strip_blanks_keeps_the_order_of_long_words(T):
    # NumPy's default sort is stable only below 17 elements: the published FSNS words
    # are T = 37 long, so the order of the kept characters must not depend on that
    rng = numpy.random.RandomState(T)
    ids = rng.randint(1, 9, (40, T)) * (rng.rand(40, T) < 0.45)   # many blanks between
    ids[0] = [(k % 8) + 1 if k % 3 == 0 else 0 for k in range(T)]
    stripped, lengths = metrics.strip_blanks(ids)
    numpy.testing.assert_array_equal(stripped, [_strip_by_hand(r) for r in ids])
    numpy.testing.assert_array_equal(lengths, (ids != 0).sum(axis=1))


def test_word_correct_at_t21_tells_apart_words_in_another_order():
    T = 21
    label = numpy.zeros((1, 2, T), numpy.int32)
    pred = numpy.zeros((1, 2, T), numpy.int32)
    # slot 0: "1 2 3 4 5" spread over 21 steps in both (right); slot 1: the prediction
    # reads the label's characters reversed (wrong)
    label[0, 0, [0, 4, 9, 13, 20]] = [1, 2, 3, 4, 5]
    pred[0, 0, [2, 3, 10, 15, 19]] = [1, 2, 3, 4, 5]
    label[0, 1, [1, 5, 8, 12, 16, 18]] = [6, 7, 8, 9, 1, 2]
    pred[0, 1, [1, 5, 8, 12, 16, 18]] = [2, 1, 9, 8, 7, 6]
    numpy.testing.assert_array_equal(metrics.word_correct(pred, label), [[True, False]])
    assert metrics.sequence_accuracy(pred, label) == 0.0
    assert metrics.published_accuracy(pred, label) == 0.5
    # the edit distance of a reversed 6-letter word with no repeated letter is 6
    numpy.testing.assert_array_equal(metrics.edit_distances(pred, label), [[0, 6]])

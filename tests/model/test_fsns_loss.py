"""SEELoss mode 'fsns' is the published FSNS loss, term by term.

Hand-built grids (rotated, sheared, mirrored, upside down, outside the view, narrower
than a pixel) and labels with blanks: each regularizer, the text term, the slot weights,
the sum over the views and the mean over the slots, and lambda1 from the previous call's
accuracy, against values worked out by hand from the formulas of the spec ("The
published FSNS configuration"), to 1e-5.  Then the same against the published loss
written with its Python loops (``published.FSNSLoss``), and the gradients numerically.
"""
import math

import numpy
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_see import SEEOutput
from chainer_see.training.loss import SEELoss, corner_regularizers
from tests.model import published

TOL = 1e-5
C, S = math.cos(0.3), math.sin(0.3)

#: name -> (theta, view (H, W), hand values): width and height are the distances
#: top-left..top-right and top-left..bottom-left in pixels, x = (u + 1) / 2 * W,
#: y = (v + 1) / 2 * H; corners of the unit square: tl (-1, -1), tr (1, -1), bl (-1, 1)
CASES = {
    # rotated by 0.3 rad, scale 0.4: sides 2 * 0.4 grid units = 0.8 * 75 = 60 px
    'rotated': ([[0.4 * C, -0.4 * S, 0.1], [0.4 * S, 0.4 * C, -0.2]], (150, 150),
                dict(area=60 * 60 / 22500., aspect=60 / 60. - 0.5, direction=0, height=0,
                     outside=0, width=60 / 150.)),
    # sheared, on a 60 x 100 view: tl (-0.8, -0.2) -> (10, 24) px, tr (0.2, -0.2) ->
    # (60, 24), bl (-0.2, 0.2) -> (40, 36): width 50, height sqrt(30^2 + 12^2)
    'sheared': ([[0.5, 0.3, 0], [0, 0.2, 0]], (60, 100),
                dict(area=50 * math.sqrt(1044) / 6000., aspect=math.sqrt(1044) / 50 - 0.5,
                     direction=0, height=0, outside=0, width=50 / 100.)),
    # mirrored left-right: tl (112.5, 56.25), tr (37.5, 56.25), bl (112.5, 93.75)
    'mirrored': ([[-0.5, 0, 0], [0, 0.25, 0]], (150, 150),
                 dict(area=75 * 37.5 / 22500., aspect=0, direction=112.5 - 37.5, height=0,
                      outside=0, width=75 / 150.)),
    # upside down, low: tl (60, 78.75), tr (90, 78.75), bl (60, 71.25)
    'upside-down': ([[0.2, 0, 0], [0, -0.05, 0]], (150, 150),
                    dict(area=30 * 7.5 / 22500., aspect=0, direction=78.75 - 71.25,
                         height=10 - 7.5, outside=0, width=30 / 150.)),
    # partly above and right of the view: tl (0.7, -1.5) -> (127.5, -37.5), tr (1.7, -1.5)
    # -> (202.5, -37.5), bl (0.7, -0.5) -> (127.5, 37.5); corners out by 0.5, 1.2, 0.7, 0
    'outside': ([[0.5, 0, 1.2], [0, 0.5, -1.0]], (150, 150),
                dict(area=75 * 75 / 22500., aspect=75 / 75. - 0.5, direction=0, height=0,
                     outside=(0.5 + 1.2 + 0.7 + 0) / 4, width=75 / 150.)),
    # 0.6 px wide: the aspect divides by 1 px, not by the width
    'narrow': ([[0.004, 0, 0], [0, 0.3, 0]], (150, 150),
               dict(area=0.6 * 45 / 22500., aspect=45 / 1. - 0.5, direction=0, height=0,
                    outside=0, width=0.6 / 150.)),
}
OUT = (5, 7)     # Ho, Wo of the hand-built grids


def _grid(theta, dtype=numpy.float64):
    """One grid ``(2, Ho, Wo)`` from Chainer's own ``spatial_transformer_grid``."""
    t = numpy.asarray(theta, numpy.float64).reshape(1, 2, 3)
    return F.spatial_transformer_grid(t, OUT).array[0].astype(dtype)


@pytest.mark.parametrize('name', sorted(CASES))
@pytest.mark.parametrize('dtype', [numpy.float64, numpy.float32])
def test_each_term_of_a_hand_built_grid(name, dtype):
    theta, view, want = CASES[name]
    grids = chainer.Variable(_grid(theta, dtype)[None, None])
    got = corner_regularizers(grids, view, height_hinge=10)
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        assert float(got[key].array[0, 0]) == pytest.approx(value, rel=TOL, abs=TOL), key


def _logits(pred, a=3.0, K=6):
    """Logits ``(B, N, T, K)``: ``a`` at the class of ``pred``, 0 elsewhere, so that the
    cross-entropy of a target is ``log(e^a + K - 1)``, minus ``a`` when it is the
    predicted class."""
    pred = numpy.asarray(pred)
    out = numpy.zeros(pred.shape + (K,))
    numpy.put_along_axis(out, pred[..., None], a, axis=-1)
    return out


def _ce(pred, label, a=3.0, K=6):
    return math.log(math.exp(a) + K - 1) - (a if pred == label else 0.0)


#: B = 2 images, N = 2 slots, T = 4 characters; class 0 is the blank
LABELS = numpy.array([[[1, 2, 0, 0], [3, 0, 0, 0]],
                      [[4, 4, 5, 0], [0, 0, 0, 0]]], numpy.int32)      # an empty slot
#: predictions: image 0 reads '12' (a blank inside: still right) and '3', image 1 reads
#: '45' (wrong: '445') and '' (right): slot accuracies 1/2 and 2/2, mean 0.75
PRED_1 = numpy.array([[[1, 0, 2, 0], [3, 0, 0, 0]],
                      [[4, 5, 0, 0], [0, 0, 0, 0]]])
#: a second batch: image 0 slot 0 reads '21' (wrong), everything else as PRED_1: slot
#: accuracies 0/2 and 2/2, mean 0.5
PRED_2 = numpy.array([[[2, 1, 0, 0], [3, 0, 0, 0]],
                      [[4, 5, 0, 0], [0, 0, 0, 0]]])
#: the grid of (image, slot, view), V = 4 views as in FSNS, on one 150 x 150 view size
LAYOUT = [[['rotated', 'mirrored', 'outside', 'narrow'],
           ['upside-down', 'rotated', 'rotated', 'mirrored']],
          [['outside', 'outside', 'upside-down', 'rotated'],
           ['narrow', 'mirrored', 'upside-down', 'outside']]]


def _output(pred, dtype=numpy.float64):
    grids = numpy.stack([numpy.stack([_grid(CASES[name][0]) for slot in image for name in slot])
                         for image in LAYOUT]).astype(dtype)          # (B, N * V, 2, Ho, Wo)
    return SEEOutput(chainer.Variable(_logits(pred).astype(dtype)),
                     chainer.Variable(grids), None, None)


def _by_hand(pred, lam1, lam2=0.2, hinge_weight=1.0):
    """The published FSNS loss from CASES' hand values: per slot the sum over the
    characters of the batch-mean cross-entropy plus, for each of the 4 views, the
    batch means of the terms, times the slot weight; the mean over the slots."""
    B, N, T = LABELS.shape
    weights = (1, 1.25)
    total = 0.0
    for n in range(N):
        text = sum(sum(_ce(pred[b, n, t], LABELS[b, n, t]) for b in range(B)) / B
                   for t in range(T))
        reg = 0.0
        for v in range(4):
            def mean(key):
                return sum(CASES[LAYOUT[b][n][v]][2][key] for b in range(B)) / B
            reg += (lam1 * mean('area') + lam2 * mean('aspect') + mean('direction')
                    + hinge_weight * mean('height'))
        total += weights[n] * (text + reg)
    return total / N


def test_loss_by_hand_with_lambda1_from_the_previous_batch():
    # the 150 x 150 cases only (the sheared one is on another view size)
    loss = SEELoss('fsns', (150, 150), area_weight=0.3, area_accuracy_scale=2.0,
                   aspect_weight=0.2, direction_weight=1.0, height_hinge=10.0,
                   height_weight=1.0, word_weights=published.WORD_WEIGHTS)
    got, parts = loss(_output(PRED_1), LABELS)
    # batch 1: image 0 right in both slots, image 1 wrong in slot 0, right in slot 1
    assert parts['slot_accuracy'] == pytest.approx((1 / 2. + 2 / 2.) / 2)
    assert parts['area_weight'] == 0.3                        # no previous batch yet
    assert float(got.array) == pytest.approx(_by_hand(PRED_1, lam1=0.3), rel=TOL)
    got, parts = loss(_output(PRED_2), LABELS)
    assert parts['area_weight'] == pytest.approx(0.3 + 2 * 0.75)   # batch 1's accuracy
    assert parts['slot_accuracy'] == pytest.approx((0 / 2. + 2 / 2.) / 2)
    assert float(got.array) == pytest.approx(_by_hand(PRED_2, lam1=0.3 + 2 * 0.75),
                                              rel=TOL)
    # the text part alone: mean over slots of the weighted sums over characters
    assert parts['text'] == pytest.approx(_text_by_hand(PRED_2), rel=TOL)
    # the reported regularizers: means over images, slots and views
    every = [name for image in LAYOUT for slot in image for name in slot]
    for key in ('area', 'aspect', 'direction', 'height', 'outside'):
        assert parts[key] == pytest.approx(
            sum(CASES[name][2][key] for name in every) / len(every), rel=TOL, abs=TOL)


def _text_by_hand(pred):
    B, N, T = LABELS.shape
    return sum(w * sum(sum(_ce(pred[b, n, t], LABELS[b, n, t]) for b in range(B)) / B
                       for t in range(T)) for n, w in zip(range(N), (1, 1.25))) / N


def test_the_views_are_summed_and_the_slots_averaged():
    """One slot, 1 vs 4 identical views: the regularizers count 4 times (published sum
    over the views), the text once; two identical slots of weight 1 give one slot's
    loss (the mean over the slots)."""
    theta = CASES['upside-down'][0]
    logits = numpy.zeros((1, 1, 3, 5))
    labels = numpy.zeros((1, 1, 3), numpy.int32)
    loss = SEELoss('fsns', (150, 150), direction_weight=1.0, height_hinge=10.0)
    ce = 3 * math.log(5)
    reg = 7.5 + 2.5                                   # direction + height of 'upside-down'
    for V in (1, 4):
        grids = numpy.stack([_grid(theta)] * V)[None]
        got, _ = loss(SEEOutput(chainer.Variable(logits), chainer.Variable(grids), None,
                                None), labels)
        assert float(got.array) == pytest.approx(ce + V * reg, rel=TOL)
    grids = numpy.stack([_grid(theta)] * 2)[None]
    got, _ = loss(SEEOutput(chainer.Variable(numpy.zeros((1, 2, 3, 5))),
                            chainer.Variable(grids), None, None),
                  numpy.zeros((1, 2, 3), numpy.int32))
    assert float(got.array) == pytest.approx(ce + reg, rel=TOL)


@pytest.mark.parametrize('dtype', [numpy.float64, numpy.float32])
def test_loss_equals_the_published_loops(dtype):
    """The same batches through the published loss's loops (published.FSNSLoss: its
    defaults, area factor 0 + 2 * previous accuracy, no aspect term), per term too."""
    ours = SEELoss.preset('fsns')
    ref = published.FSNSLoss(image_size=(150, 150))
    for pred in (PRED_1, PRED_2, PRED_1):
        out = _output(pred, dtype)
        B, N, T = LABELS.shape
        predictions = [F.transpose(out.logits[:, n], (1, 0, 2)) for n in range(N)]
        g = F.reshape(out.grids, (B, N, 4) + out.grids.shape[2:])
        points = F.reshape(F.transpose(g, (1, 0, 2, 3, 4, 5)), (-1,) + out.grids.shape[2:])
        got, parts = ours(out, LABELS)
        want = ref.loss(predictions, points, LABELS)
        assert parts['area_weight'] == pytest.approx(ref.area_factor)
        assert float(got.array) == pytest.approx(float(want.array), rel=TOL)
        assert parts['slot_accuracy'] == pytest.approx(ref.accuracy(predictions, LABELS))
        for n, v, key, value in ref.terms:
            if v is not None:
                assert value == pytest.approx(
                    sum(CASES[LAYOUT[b][n][v]][2][key] for b in range(B)) / B,
                    rel=TOL, abs=TOL)


def test_gradients_numerically():
    """Away from the kinks (no hinge at 0, widths above 1 px), the gradient of the loss
    with respect to the grids and the logits is the numerical one."""
    rng = numpy.random.RandomState(0)
    thetas = [[[0.4 * C, -0.4 * S, 0.1], [0.4 * S, 0.4 * C, -0.2]],
              [[-0.5, 0.1, 0], [0.05, 0.25, 0.3]],
              [[0.2, 0, 0], [0.02, -0.05, 0]],
              [[0.5, 0.2, 1.2], [0, 0.5, -1.0]]]
    grids = numpy.stack([_grid(t) for t in thetas])[None]              # B 1, N 1, V 4
    logits = rng.randn(1, 1, 3, 5)
    labels = numpy.array([[[1, 0, 0]]], numpy.int32)
    loss = SEELoss('fsns', (150, 150), area_weight=0.7, aspect_weight=0.2,
                   direction_weight=1.0, height_hinge=10.0, outside_weight=0.5)

    def f(lg, gr):
        return loss(SEEOutput(lg, gr, None, None), labels)[0]
    gradient_check.check_backward(f, (logits, grids), None, eps=1e-6, atol=1e-5, rtol=1e-5,
                                  dtype=numpy.float64)

"""SEELoss: regularizers on hand-built grids, the three combinations, against loops."""
import math

import numpy
import pytest

import chainer
import chainer.functions as F

from benchmarks.bench_model import reference_loss
from chainer_see import SEEOutput
from chainer_see.training.loss import grid_regularizers
from chainer_see.training.loss import SEELoss


def _grids(thetas, out=(5, 7)):
    """Grids (B, M, 2, Ho, Wo) from matrices (B, M, 2, 3) (align-corners convention)."""
    thetas = numpy.asarray(thetas, numpy.float64)
    B, M = thetas.shape[:2]
    g = F.spatial_transformer_grid(thetas.reshape(B * M, 2, 3), out).array
    return g.reshape((B, M, 2) + out)


def _regs(thetas, view=(65, 129), hinge=None):
    v = grid_regularizers(chainer.Variable(_grids(thetas)), view, hinge)
    return {k: x.array for k, x in v.items()}


def test_upright_full_grid():
    r = _regs([[[[1, 0, 0], [0, 1, 0]]]], view=(65, 129))
    assert r['area'][0, 0] == pytest.approx(1.0)
    assert r['aspect'][0, 0] == pytest.approx(0.0)        # 64 / 128 - 0.5 = 0
    assert r['direction'][0, 0] == 0


def test_mirrored_grids_have_positive_direction_loss():
    r = _regs([[[[-1, 0, 0], [0, 1, 0]],       # mirrored left-right: x_tl - x_tr = 2
                [[1, 0, 0], [0, -1, 0]],       # upside down: y_tl - y_bl = 2
                [[-0.5, 0, 0], [0, -0.5, 0]],  # both, half size: 1 + 1
                [[0.5, 0, 0.2], [0, 0.5, 0]]]])  # upright
    numpy.testing.assert_allclose(r['direction'][0], [2, 2, 2, 0], atol=1e-12)
    numpy.testing.assert_allclose(r['area'][0], [1, 1, 0.25, 0.25], atol=1e-12)


def test_area_aspect_and_height_by_hand():
    # view 65 high x 129 wide: pixel spans (H-1)/2 = 32 and (W-1)/2 = 64 per grid unit
    r = _regs([[[[0.25, 0, 0], [0, 0.5, 0]],
                [[0.5, 0, 0], [0, 0.125, 0.5]],
                [[0.1, 0, 0], [0, 1, 0]]]], view=(65, 129), hinge=10)
    # box widths 2*0.25*64 = 32 px, 2*0.5*64 = 64 px, 2*0.1*64 = 12.8 px
    # box heights 2*0.5*32 = 32 px, 2*0.125*32 = 8 px, 64 px
    numpy.testing.assert_allclose(r['area'][0], [0.25 * 0.5, 0.5 * 0.125, 0.1 * 1.0], rtol=1e-12)
    numpy.testing.assert_allclose(r['aspect'][0], [32 / 32 - 0.5, 0, 64 / 12.8 - 0.5], rtol=1e-12)
    numpy.testing.assert_allclose(r['height'][0], [0, 10 - 8, 0], atol=1e-12)
    numpy.testing.assert_array_equal(r['direction'][0], [0, 0, 0])
    numpy.testing.assert_allclose(r['width'][0], [32 / 128, 64 / 128, 12.8 / 128], rtol=1e-12)


def _one_grid_loss(theta, view, **weights):
    """``(output, loss, parts)`` of a ``'paper'`` SEELoss with ``weights`` on one image
    with one region of grid ``theta`` and uniform logits over 3 classes for 2 blanks: the
    text term is ``2 log 3``, the rest comes from the regularizers."""
    out = SEEOutput(chainer.Variable(numpy.zeros((1, 1, 2, 3))),
                    chainer.Variable(_grids([[theta]])), None, None)
    loss, parts = SEELoss('paper', view, **weights)(out, numpy.zeros((1, 1, 2), numpy.int32))
    return out, loss, parts


def test_width_term_narrows_a_wide_box_without_touching_its_height():
    # a box 64 x 16 px on a 65 x 129 view (theta 0.5, 0.25): width 64 / 128 = 0.5
    out, loss, parts = _one_grid_loss([[0.5, 0, 0.1], [0, 0.25, 0]], (65, 129),
                                      width_weight=3.0)
    assert parts['width'] == pytest.approx(0.5)
    assert float(loss.array) == pytest.approx(2 * math.log(3) + 3.0 * 0.5)
    loss.backward()
    gx, gy = out.grids.grad[0, 0]             # descent moves a corner by -grad
    # d width / d x = 1 / 2 grid unit per grid unit of x at the right side, -1/2 at the left
    assert gx[0, -1] + gx[-1, -1] == pytest.approx(3.0 * 0.5)
    assert gx[0, 0] + gx[-1, 0] == pytest.approx(-3.0 * 0.5)
    assert numpy.abs(gy).max() == 0           # the height is left alone
    # off by default: measured, not added
    _, _, plain = _one_grid_loss([[0.5, 0, 0.1], [0, 0.25, 0]], (65, 129), area_weight=1.0)
    assert plain['width'] == pytest.approx(0.5) and plain['loss'] == pytest.approx(
        2 * math.log(3) + 0.5 * 0.25)


def test_outside_term_by_hand():
    r = _regs([[[[1, 0, 0], [0, 1, 0]],            # the whole view: corners on its edge
                [[1.5, 0, 0], [0, 1.5, 0]],        # every corner 0.5 out on both axes
                [[0.5, 0, 1], [0, 0.5, 0]],        # right corners 0.5 out on x
                [[0.5, 0, 0], [0, 0.25, -2]],      # all above the view: y in [-2.25, -1.75]
                [[-0.5, 0, 0], [0, -0.5, 0]]]])    # mirrored but inside
    numpy.testing.assert_allclose(r['outside'][0], [0, 1.0, 0.25, 1.0, 0], atol=1e-12)


def test_outside_term_pulls_a_grid_back_into_the_view():
    out, loss, parts = _one_grid_loss([[0.5, 0, 1], [0, 0.5, 0]], (50, 50),
                                      outside_weight=2.0)
    assert parts['outside'] == pytest.approx(0.25)
    assert float(loss.array) == pytest.approx(2 * math.log(3) + 2.0 * 0.25)
    loss.backward()
    g = out.grids.grad[0, 0, 0]               # x channel; descent moves x by -g
    assert g[0, -1] > 0 and g[-1, -1] > 0     # the right corners move left
    assert g[0, 0] == 0 and g[-1, 0] == 0     # the left corners are inside
    assert numpy.abs(out.grids.grad[0, 0, 1]).max() == 0


def test_rotated_grid_uses_the_hull_of_its_corners():
    c, s = math.cos(0.3), math.sin(0.3)
    r = _regs([[[[0.5 * c, -0.5 * s, 0], [0.5 * s, 0.5 * c, 0]]]], view=(101, 101))
    half = 0.5 * (c + s)          # the hull's half-extent in grid units, both axes
    assert r['area'][0, 0] == pytest.approx(half * half)
    assert r['aspect'][0, 0] == pytest.approx(0.5)
    assert r['direction'][0, 0] == 0


def _output(B, N, T, K, V=1, seed=0, dtype=numpy.float64):
    rng = numpy.random.RandomState(seed)
    logits = chainer.Variable(rng.randn(B, N, T, K).astype(dtype))
    thetas = numpy.zeros((B, N * V, 2, 3))
    thetas[:, :, 0, 0] = rng.uniform(-0.9, 0.9, (B, N * V))
    thetas[:, :, 1, 1] = rng.uniform(-0.9, 0.9, (B, N * V))
    thetas[:, :, :, 2] = rng.uniform(-0.2, 0.2, (B, N * V, 2))
    thetas[:, :, 0, 1] = rng.uniform(-0.2, 0.2, (B, N * V))
    # shear on both axes: no two corners tie, so any valid tie rule gives the same gradient
    thetas[:, :, 1, 0] = rng.uniform(-0.2, 0.2, (B, N * V))
    grids = chainer.Variable(_grids(thetas).astype(dtype))
    return SEEOutput(logits, grids, None, None)


def test_zero_logits_by_hand():
    B, N, T, K = 3, 2, 4, 11
    out = SEEOutput(chainer.Variable(numpy.zeros((B, N, T, K))), None, None, None)
    labels = numpy.zeros((B, N, T), numpy.int32)
    ce = math.log(K)
    assert SEELoss('svhn')(out, labels)[0].array == pytest.approx(N * ce)
    assert SEELoss('fsns', word_weights=(1, 3))(out, labels)[0].array == pytest.approx(T * ce * 2)
    assert SEELoss('paper')(out, labels)[0].array == pytest.approx(N * T * ce)


@pytest.mark.parametrize('mode', ['svhn', 'paper'])     # 'fsns': test_fsns_loss.py
@pytest.mark.parametrize('V', [1, 2])
def test_vectorized_loss_equals_the_loop_reference(mode, V):
    B, N, T, K = 5, 3, 4, 7
    spec = SEELoss(mode, view_size=(40, 60), area_weight=0.2, area_accuracy_scale=2.0,
                   aspect_weight=0.3, direction_weight=1.0, height_hinge=12.0,
                   height_weight=0.5, outside_weight=0.7, word_weights=(1, 1.25, 2))
    out = _output(B, N, T, K, V)
    labels = numpy.random.RandomState(1).randint(0, K, (B, N, T)).astype(numpy.int32)
    labels[0] = out.logits.array[0].argmax(-1)      # some right words: accuracy > 0
    labels[1, :2] = out.logits.array[1, :2].argmax(-1)
    first = spec(out, labels)[1]             # lambda1 follows the previous call's accuracy
    assert first['area_weight'] == 0.2
    got, parts = spec(out, labels)
    out.logits.grad = out.grids.grad = None
    got.backward()
    g_logits, g_grids = out.logits.grad.copy(), out.grids.grad.copy()
    out.logits.grad = out.grids.grad = None
    ref, ref_parts = reference_loss(spec, out, labels)
    ref.backward()
    assert 'accuracy' not in parts           # per-slot, not sequence accuracy: own name
    assert parts['slot_accuracy'] == pytest.approx(ref_parts['accuracy']) == pytest.approx(
        (N + 2) / (B * N))
    assert parts['area_weight'] == pytest.approx(0.2 + 2.0 * parts['slot_accuracy'])
    assert float(got.array) == pytest.approx(float(ref.array), rel=1e-12)
    assert parts['text'] == pytest.approx(ref_parts['text'], rel=1e-12)
    numpy.testing.assert_allclose(g_logits, out.logits.grad, atol=1e-12)
    numpy.testing.assert_allclose(g_grids, out.grids.grad, atol=1e-12)
    assert numpy.abs(g_grids).max() > 0
    assert parts['outside'] > 0                 # some corners of _output lie outside


def test_direction_loss_pushes_a_mirrored_grid_back():
    out, loss, parts = _one_grid_loss([[-0.5, 0, 0], [0, 0.5, 0]], (50, 50),
                                      direction_weight=1.0)
    assert parts['direction'] == pytest.approx(1.0)
    loss.backward()
    g = out.grids.grad[0, 0, 0]             # x channel
    assert g[0, 0] > 0 and g[0, -1] < 0     # top-left moves left, top-right moves right


def test_published_presets():
    svhn = SEELoss.preset('svhn')
    assert svhn.mode == 'svhn' and not svhn.uses_regularizers
    fsns = SEELoss.preset('fsns')
    assert (fsns.mode, fsns.word_weights, fsns.height_hinge, fsns.area_accuracy_scale,
            fsns.view_size) == ('fsns', (1, 1.25, 2, 1.25), 10.0, 2.0, (150, 150))
    # train_fsns.py's defaults: --area-factor 0 --aspect-factor 0, direction and height 1
    assert (fsns.area_weight, fsns.aspect_weight, fsns.direction_weight,
            fsns.height_weight, fsns.outside_weight) == (0, 0, 1, 1, 0)
    assert vars(SEELoss.preset('fsns-paper')) == vars(fsns)
    assert SEELoss.preset('fsns', aspect_weight=0.0).aspect_weight == 0.0


def test_bad_input_is_reported():
    out = _output(2, 2, 3, 5)
    loss = SEELoss('fsns', (40, 60), word_weights=(1,))
    with pytest.raises(ValueError, match='1 word weights'):
        loss(out, numpy.zeros((2, 2, 3), numpy.int32))
    with pytest.raises(ValueError, match=r'labels have shape \(2, 3, 3\)'):
        SEELoss()(out, numpy.zeros((2, 3, 3), numpy.int32))
    with pytest.raises(ValueError, match=r'class ids in \[0, 5\)'):
        SEELoss()(out, numpy.full((2, 2, 3), 5, numpy.int32))
    with pytest.raises(ValueError, match='integer class ids'):
        SEELoss()(out, numpy.zeros((2, 2, 3), numpy.float32))
    with pytest.raises(ValueError, match='needs view_size'):
        SEELoss('paper', area_weight=0.1)
    with pytest.raises(ValueError, match='mode must be one of'):
        SEELoss('eq8')

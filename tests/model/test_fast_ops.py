"""The fast CPU FunctionNodes against Chainer's own functions."""
import numpy
import pytest

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import gradient_check

from chainer_see.functions import fast_batch_norm
from chainer_see.functions import fast_conv
from chainer_see.functions import fast_pooling
from chainer_see.links import BatchNorm2D
from chainer_see.links import Conv2D
from chainer_see.links import reference_ops


def _run(f, inputs, gy_seed=7):
    vs = [chainer.Variable(a.copy()) for a in inputs]
    y = f(*vs)
    y.grad = numpy.random.RandomState(gy_seed).uniform(-1, 1, y.shape).astype(y.dtype)
    y.backward()
    return [y.array] + [v.grad for v in vs]


CONV_CASES = [
    # B, C, H, W, Cout, k, stride, pad
    (2, 3, 9, 8, 4, 3, 1, 1),
    (2, 3, 9, 8, 4, 3, 2, 1),      # stride 2
    (3, 5, 7, 6, 3, 1, 1, 0),      # 1x1
    (2, 5, 7, 7, 3, 1, 2, 0),      # 1x1 stride 2 (ResNet projection)
    (2, 3, 11, 10, 4, 7, 2, 3),    # ResNet stem
    (1, 2, 6, 5, 3, 3, 1, 0),      # no pad, batch of one
    (2, 2, 6, 6, 3, 5, 1, 2),
    (2, 4, 30, 31, 5, 3, 1, 1),    # large output: one GEMM per image
]


@pytest.mark.parametrize('case', CONV_CASES)
@pytest.mark.parametrize('dtype,tol', [(numpy.float64, 1e-12), (numpy.float32, 1e-5)])
def test_conv_matches_chainer(case, dtype, tol):
    B, C, H, W, Co, k, s, p = case
    rng = numpy.random.RandomState(0)
    x = rng.uniform(-1, 1, (B, C, H, W)).astype(dtype)
    w = rng.uniform(-1, 1, (Co, C, k, k)).astype(dtype)
    b = rng.uniform(-1, 1, Co).astype(dtype)
    ref = _run(lambda x, w, b: F.convolution_2d(x, w, b, stride=s, pad=p), (x, w, b))
    got = _run(lambda x, w, b: fast_conv.conv2d(x, w, b, stride=s, pad=p), (x, w, b))
    for r, g, name in zip(ref, got, ('y', 'gx', 'gW', 'gb')):
        scale = max(1.0, float(numpy.abs(r).max()))
        numpy.testing.assert_allclose(g, r, atol=tol * scale, rtol=tol, err_msg=name)


@pytest.mark.parametrize('single_max,chunk_bytes', [(0, 1), (10 ** 9, 1), (0, 10 ** 9)])
def test_conv_layouts_and_chunks_agree(monkeypatch, single_max, chunk_bytes):
    """Both GEMM layouts, with chunks of one image and with the whole batch."""
    monkeypatch.setattr(fast_conv, 'SINGLE_GEMM_MAX_PIXELS', single_max)
    monkeypatch.setattr(fast_conv, 'COL_CHUNK_BYTES', chunk_bytes)
    rng = numpy.random.RandomState(1)
    for (B, C, H, W, Co, k, s, p) in CONV_CASES[:5]:
        x = rng.randn(B + 1, C, H, W)
        w = rng.randn(Co, C, k, k)
        b = rng.randn(Co)
        ref = _run(lambda x, w, b: F.convolution_2d(x, w, b, stride=s, pad=p), (x, w, b))
        got = _run(lambda x, w, b: fast_conv.conv2d(x, w, b, stride=s, pad=p), (x, w, b))
        for r, g in zip(ref, got):
            numpy.testing.assert_allclose(g, r, atol=1e-11)


def test_conv_gradient_check():
    rng = numpy.random.RandomState(2)
    x = rng.randn(2, 3, 6, 5)
    w = rng.randn(4, 3, 3, 3)
    b = rng.randn(4)
    gy = rng.randn(2, 4, 3, 3)
    gradient_check.check_backward(
        lambda x, w, b: fast_conv.conv2d(x, w, b, stride=2, pad=1), (x, w, b), gy,
        eps=1e-6, atol=1e-6, rtol=1e-6)


def test_conv_without_bias_and_only_some_gradients():
    rng = numpy.random.RandomState(3)
    x = rng.randn(2, 3, 5, 5)
    w = chainer.Variable(rng.randn(4, 3, 3, 3))
    y = fast_conv.conv2d(x, w, None, pad=1)           # x is a constant: no gx wanted
    numpy.testing.assert_allclose(y.array, F.convolution_2d(x, w.array, pad=1).array)
    y.grad = numpy.ones_like(y.array)
    y.backward()
    ref_w = chainer.Variable(w.array.copy())
    yr = F.convolution_2d(x, ref_w, pad=1)
    yr.grad = numpy.ones_like(yr.array)
    yr.backward()
    numpy.testing.assert_allclose(w.grad, ref_w.grad, atol=1e-12)


def test_conv_double_backprop_is_refused():
    x = chainer.Variable(numpy.ones((1, 1, 3, 3)))
    w = chainer.Variable(numpy.ones((1, 1, 3, 3)))
    y = F.sum(fast_conv.conv2d(x, w, pad=1) ** 2)
    gx, = chainer.grad([y], [x], enable_double_backprop=True)
    with pytest.raises(NotImplementedError, match='double backpropagation'):
        F.sum(gx).backward()


POOL_CASES = [
    # shape, k, s, pad, cover_all
    ((2, 3, 8, 8), 2, 2, 0, True),
    ((2, 3, 9, 7), 2, 2, 0, True),     # odd sizes: cover_all pads with -inf
    ((2, 3, 9, 7), 2, 2, 0, False),
    ((2, 3, 10, 9), 3, 2, 1, False),   # ResNet stem pool
    ((2, 3, 10, 9), 3, 2, 1, True),
    ((1, 2, 12, 11), 5, 2, 0, False),  # localization's last pool
    ((1, 2, 6, 6), 5, 1, 0, False),    # recognition's last pool
]


@pytest.mark.parametrize('case', POOL_CASES)
def test_pooling_matches_chainer(case):
    shape, k, s, p, cover_all = case
    rng = numpy.random.RandomState(4)
    x = rng.randn(*shape)
    x[0, 0, :2, :4] = 0.5          # ties: the gradient goes to the first maximum
    x[-1, -1] = numpy.round(x[-1, -1])
    ref = _run(lambda v: F.max_pooling_2d(v, k, s, p, cover_all=cover_all), (x,))
    got = _run(lambda v: fast_pooling.max_pooling_2d(v, k, s, p, cover_all=cover_all), (x,))
    for r, g in zip(ref, got):
        numpy.testing.assert_array_equal(g, r)
    ref = _run(lambda v: F.average_pooling_2d(v, k, s, p), (x,))
    got = _run(lambda v: fast_pooling.average_pooling_2d(v, k, s, p), (x,))
    for r, g in zip(ref, got):
        numpy.testing.assert_allclose(g, r, atol=1e-12)


@pytest.mark.parametrize('relu', [False, True])
@pytest.mark.parametrize('dtype,tol', [(numpy.float64, 1e-10), (numpy.float32, 1e-5)])
def test_batch_norm_matches_chainer(relu, dtype, tol):
    rng = numpy.random.RandomState(5)
    x = (rng.randn(4, 3, 5, 6) * 3 + 1).astype(dtype)
    g = rng.randn(3).astype(dtype)
    b = rng.randn(3).astype(dtype)
    results = []
    for fn in ('chainer', 'fast'):
        rm = numpy.full(3, 0.5, dtype)
        rv = numpy.full(3, 2.0, dtype)

        def f(x, g, b):
            if fn == 'fast':
                return fast_batch_norm.batch_normalization_2d(
                    x, g, b, 2e-5, rm, rv, 0.9, relu=relu)
            y = F.batch_normalization(x, g, b, eps=2e-5, running_mean=rm, running_var=rv,
                                      decay=0.9)
            return F.relu(y) if relu else y
        results.append(_run(f, (x, g, b)) + [rm, rv])
    for r, q, name in zip(results[0], results[1], ('y', 'gx', 'ggamma', 'gbeta', 'mean', 'var')):
        numpy.testing.assert_allclose(q, r, atol=tol * 10, rtol=tol, err_msg=name)


def test_links_load_plain_chainer_weights_and_agree():
    """Conv2D/BatchNorm2D hold the parameters of L.Convolution2D/L.BatchNormalization."""
    rng = numpy.random.RandomState(6)
    plain = chainer.Sequential(L.Convolution2D(3, 4, 3, stride=2, pad=1), L.BatchNormalization(4))
    ours = chainer.Sequential(Conv2D(3, 4, 3, stride=2, pad=1), BatchNorm2D(4))
    for _, p in plain.namedparams():
        p.array[...] = rng.randn(*p.shape)
    plain[1].avg_mean[...] = rng.randn(4)
    plain[1].N = 3
    saved = chainer.serializers.DictionarySerializer()
    saved.save(plain)
    ours_keys = chainer.serializers.DictionarySerializer()
    ours_keys.save(ours)
    assert sorted(saved.target) == sorted(ours_keys.target)
    chainer.serializers.NpzDeserializer(saved.target, strict=True).load(ours)
    assert ours[1].N == 3
    x = rng.rand(5, 3, 9, 9).astype(numpy.float32)
    for train in (False, True):
        with chainer.using_config('train', train):
            a, b = plain(x).array, ours(x).array
        numpy.testing.assert_allclose(b, a, atol=1e-5)
    numpy.testing.assert_allclose(ours[1].avg_mean, plain[1].avg_mean, atol=1e-6)
    numpy.testing.assert_allclose(ours[1].avg_var, plain[1].avg_var, atol=1e-6)
    with reference_ops():
        numpy.testing.assert_allclose(ours(x).array, plain(x).array, atol=1e-5)

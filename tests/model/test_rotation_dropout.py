import numpy
import pytest

import chainer

from chainer_see.functions import rotation_dropout

OFF = numpy.zeros((2, 3), bool)
OFF[0, 1] = OFF[1, 0] = True      # theta2 and theta4


def _theta(shape=(6, 2, 3), seed=0):
    return numpy.random.RandomState(seed).uniform(0.5, 1.5, shape).astype(numpy.float32)


def test_code_mode_train_drops_both_terms_of_every_matrix_or_none():
    theta = _theta()
    seen = set()
    numpy.random.seed(0)
    with chainer.using_config('train', True):
        for _ in range(40):
            y = rotation_dropout(theta, ratio=0.5, mode='code').array
            numpy.testing.assert_array_equal(y[:, ~OFF], theta[:, ~OFF])
            off = y[:, OFF]
            if (off == 0).all():
                seen.add('dropped')
            else:
                numpy.testing.assert_array_equal(off, theta[:, OFF])
                seen.add('kept')
    assert seen == {'dropped', 'kept'}     # one draw per call, shared by the batch


def test_code_mode_ratio_is_the_keep_probability():
    theta = _theta((1, 2, 3))
    numpy.random.seed(1)
    with chainer.using_config('train', True):
        kept = [rotation_dropout(theta, 0.8, 'code').array[0, 0, 1] != 0 for _ in range(2000)]
    assert abs(numpy.mean(kept) - 0.8) < 0.04


def test_code_mode_test_time_scales_by_ratio():
    theta = _theta((3, 4, 2, 3))
    with chainer.using_config('train', False):
        y = rotation_dropout(theta, ratio=0.3, mode='code').array
    numpy.testing.assert_allclose(y[..., OFF], theta[..., OFF] * 0.3, rtol=1e-6)
    numpy.testing.assert_array_equal(y[..., ~OFF], theta[..., ~OFF])


def test_sample_mode_is_per_matrix_inverted_dropout():
    theta = _theta((4000, 2, 3))
    numpy.random.seed(2)
    with chainer.using_config('train', True):
        y = rotation_dropout(theta, ratio=0.25, mode='sample').array
    factor = y[:, 0, 1] / theta[:, 0, 1]
    numpy.testing.assert_allclose(y[:, 1, 0] / theta[:, 1, 0], factor, rtol=1e-5)
    dropped = factor == 0
    numpy.testing.assert_allclose(factor[~dropped], 1 / 0.75, rtol=1e-5)
    assert 0 < dropped.sum() < len(dropped)
    assert abs(dropped.mean() - 0.25) < 0.03
    with chainer.using_config('train', False):
        numpy.testing.assert_array_equal(rotation_dropout(theta, 0.25, 'sample').array, theta)


def test_none_mode_and_gradient_is_the_mask():
    theta = _theta((2, 3, 2, 3))
    numpy.testing.assert_array_equal(rotation_dropout(theta, 0.5, 'none').array, theta)
    v = chainer.Variable(theta)
    with chainer.using_config('train', False):
        y = rotation_dropout(v, ratio=0.4, mode='code')
    y.grad = numpy.ones_like(theta)
    y.backward()
    expected = numpy.where(OFF, 0.4, 1.0) * numpy.ones_like(theta)
    numpy.testing.assert_allclose(v.grad, expected, rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode must be one of'):
        rotation_dropout(_theta(), 0.5, 'paper')
    with pytest.raises(ValueError, match=r'ratio must be in \[0, 1\]'):
        rotation_dropout(_theta(), 1.5)
    with pytest.raises(ValueError, match='drop probability'):
        rotation_dropout(_theta(), 1.0, 'sample')

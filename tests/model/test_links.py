"""Residual block, localization and recognition networks."""
import numpy
import pytest

import chainer
import chainer.functions as F

from chainer_see.config import SEEConfig
from chainer_see.links import LocalizationNet
from chainer_see.links import RecognitionNet
from chainer_see.links import ResidualBlock


def _randomize_bn_stats(link, seed=0):
    rng = numpy.random.RandomState(seed)
    for sub in link.links():
        if isinstance(sub, chainer.links.BatchNormalization):
            sub.avg_mean[...] = rng.randn(*sub.avg_mean.shape)
            sub.avg_var[...] = rng.uniform(0.5, 2, sub.avg_var.shape)
    for _, p in link.namedparams():
        p.array[...] = rng.randn(*p.shape) * 0.3


def _bn(x, bn):
    return F.fixed_batch_normalization(x, bn.gamma, bn.beta, bn.avg_mean, bn.avg_var, bn.eps)


@pytest.mark.parametrize('cin,cout,stride,shortcut,expect', [
    (8, 8, 1, 'code', 'none'),
    (8, 8, 1, 'identity', 'identity'),
    (8, 12, 1, 'code', 'projection'),
    (8, 12, 1, 'identity', 'projection'),
    (8, 8, 2, 'code', 'projection'),
])
def test_residual_block_shortcuts(cin, cout, stride, shortcut, expect):
    block = ResidualBlock(cin, cout, stride=stride, shortcut=shortcut)
    assert hasattr(block, 'conv2') == (expect == 'projection')
    assert hasattr(block, 'bn2') == (expect == 'projection')
    _randomize_bn_stats(block)
    x = numpy.random.RandomState(1).randn(2, cin, 9, 9).astype(numpy.float32)
    with chainer.using_config('train', False):
        y = block(x).array
        h = F.relu(_bn(F.convolution_2d(x, block.conv0.W, block.conv0.b, stride, 1), block.bn0))
        h = _bn(F.convolution_2d(h, block.conv1.W, block.conv1.b, 1, 1), block.bn1)
        if expect == 'identity':
            h = h + x
        elif expect == 'projection':
            h = h + _bn(F.convolution_2d(x, block.conv2.W, block.conv2.b, stride), block.bn2)
        expected = F.relu(h).array
    numpy.testing.assert_allclose(y, expected, atol=1e-5)


def test_localization_starts_as_a_centred_zoom_crop():
    cfg = SEEConfig.preset('svhn', num_regions=3, rotation_dropout='none', zoom=0.8)
    net = LocalizationNet(cfg)
    x = numpy.random.RandomState(0).rand(2, 3, 64, 64).astype(numpy.float32)
    theta = net(x)
    assert theta.shape == (2, 3, 2, 3)
    expected = numpy.broadcast_to(numpy.array([[0.8, 0, 0], [0, 0.8, 0]], numpy.float32),
                                  (2, 3, 2, 3))
    numpy.testing.assert_array_equal(theta.array, expected)
    assert not net.transform_2.W.array.any()


def test_localization_paper_variants():
    cfg = SEEConfig.preset('svhn', transform_head='lstm', pooling='paper', num_regions=2)
    net = LocalizationNet(cfg)
    assert isinstance(net.transform_2, chainer.links.LSTM)       # the published name
    assert net.transform_2.upward.W.shape == (24, 256)           # an LSTM with 6 units
    # 'paper' pooling skips the max pool after rs1: 64 -> 32 -> 32 -> 16 -> 6
    assert net.lstm.upward.W.shape == (1024, 48 * 6 * 6)
    assert LocalizationNet(SEEConfig.preset('svhn')).lstm.upward.W.shape == (1024, 48 * 2 * 2)
    x = numpy.random.RandomState(0).rand(2, 3, 64, 64).astype(numpy.float32)
    theta = net(x).array
    assert theta.shape == (2, 2, 2, 3)
    assert (numpy.abs(theta) < 1).all()      # an LSTM output: o * tanh(c)


def test_localization_features_for_visual_backprop():
    net = LocalizationNet(SEEConfig.preset('svhn'))
    x = numpy.random.RandomState(0).rand(2, 3, 64, 64).astype(numpy.float32)
    theta, feats = net(x, return_features=True)
    assert list(feats) == ['conv0', 'rs1/conv0', 'rs1', 'rs2/conv0', 'rs2', 'rs3/conv0', 'rs3']
    shapes = [feats[k].shape for k in feats]
    assert shapes == [(2, 32, 64, 64), (2, 32, 32, 32), (2, 32, 32, 32), (2, 48, 16, 16),
                      (2, 48, 16, 16), (2, 48, 8, 8), (2, 48, 8, 8)]
    assert all((feats[k].array >= 0).all() for k in feats)       # ReLU activations
    numpy.testing.assert_array_equal(theta.array, net(x).array)


def test_localization_rejects_small_or_wrong_inputs():
    with pytest.raises(ValueError, match='too small for the localization network'):
        LocalizationNet(SEEConfig.preset('svhn', image_size=(24, 64)))
    net = LocalizationNet(SEEConfig.preset('svhn'))
    with pytest.raises(ValueError, match='built for 64x64 inputs, got 32x32'):
        net(numpy.zeros((1, 3, 32, 32), numpy.float32))


def test_recognition_heads():
    x = numpy.random.RandomState(0).rand(6, 3, 50, 50).astype(numpy.float32)
    lstm = RecognitionNet(SEEConfig.preset('svhn'))
    assert lstm(x).shape == (6, 5, 11)
    lstm.set_num_chars(7)
    assert lstm(x).shape == (6, 7, 11)
    ind = RecognitionNet(SEEConfig.preset('svhn', head='independent', num_chars=4))
    assert not hasattr(ind, 'lstm') and not hasattr(ind, 'classifier')
    assert ind.classifiers.W.shape == (4 * 11, 256)
    assert ind(x).shape == (6, 4, 11)
    W = ind.classifiers.W.array.copy()
    ind.set_num_chars(6)
    assert ind.classifiers.W.shape == (6 * 11, 256)
    numpy.testing.assert_array_equal(ind.classifiers.W.array[:44], W)
    assert ind(x).shape == (6, 6, 11)
    ind.set_num_chars(2)
    numpy.testing.assert_array_equal(ind.classifiers.W.array, W[:22])
    with pytest.raises(ValueError, match='too small for the small-resnet'):
        RecognitionNet(SEEConfig.preset('svhn', crop_size=(20, 50)))


def test_recognition_joins_the_views_of_a_region():
    cfg = SEEConfig.preset('fsns-paper', crop_size=(24, 32), image_size=(40, 160))
    net = RecognitionNet(cfg)
    assert net.fc1.W.shape == (512, 4 * 512)
    assert net.blstm.upward.W.shape == (4 * 512, 512)
    x = numpy.random.RandomState(0).rand(8, 3, 24, 32).astype(numpy.float32)   # 2 regions x 4 views
    with chainer.using_config('train', False):
        y = net(x).array
        assert y.shape == (2, 21, 134)
        x2 = x.copy()
        x2[5] += 0.5                       # a view of region 1
        y2 = net(x2).array
    numpy.testing.assert_array_equal(y2[0], y[0])
    assert numpy.abs(y2[1] - y[1]).max() > 1e-4


def test_localization_reading_a_shrunk_view_is_the_small_net_on_block_means():
    """loc_input_size: the same weights read the mean of each k x k block of the view,
    so a 2x view gives the small net's matrices on the 2x2 block means; a size that
    does not divide the view by one whole factor is refused."""
    small = SEEConfig.preset('svhn', image_size=(40, 40), loc_units=16)
    big = small.replace(image_size=(80, 80), loc_input_size=(40, 40))
    numpy.random.seed(0)
    a, b = LocalizationNet(small), LocalizationNet(big)
    b.copyparams(a)
    rng = numpy.random.RandomState(1)
    a.transform_2.W.array[...] = rng.randn(*a.transform_2.W.shape)
    b.transform_2.W.array[...] = a.transform_2.W.array
    x = rng.rand(2, 3, 80, 80).astype(numpy.float32)
    means = x.reshape(2, 3, 40, 2, 40, 2).mean(axis=(3, 5))
    with chainer.using_config('train', False):
        want, got = a(means).array, b(x).array
    assert numpy.ptp(want) > 0.1
    numpy.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='loc_input_size 30x40 must divide the view 80x80'):
        small.replace(image_size=(80, 80), loc_input_size=(30, 40))

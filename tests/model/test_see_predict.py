"""SEE.infer and SEE.predict: the one test-mode forward and the reading of its output."""
import numpy
import pytest

import chainer

from chainer_see import SEEConfig
from chainer_see.links.see import SEE


def _model():
    numpy.random.seed(3)
    cfg = SEEConfig.preset('svhn-grid', image_size=(64, 64), num_regions=2)
    return SEE(cfg)


def test_predict_reads_what_the_test_mode_forward_gives():
    model = _model()
    x = numpy.random.RandomState(0).rand(3, 3, 64, 64).astype(numpy.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out = model(x)
    logits = out.logits.array
    r = model.predict(x)
    ids = logits.argmax(axis=-1)
    numpy.testing.assert_array_equal(r.ids, ids)
    cmap = model.config.get_char_map()
    assert r.words == [[cmap.decode(w) for w in image] for image in ids]
    numpy.testing.assert_allclose(r.boxes, out.boxes, rtol=1e-6)
    # confidence: the product over steps of the top softmax probability, then over slots
    p = numpy.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    word = p.max(-1).prod(-1)
    numpy.testing.assert_allclose(r.word_confidences, word, rtol=1e-5)
    numpy.testing.assert_allclose(r.confidences, word.prod(-1), rtol=1e-5)
    # a list of (3, H, W) images reads the same; predicting twice gives the same result
    again = model.predict(list(x))
    numpy.testing.assert_array_equal(again.ids, r.ids)
    numpy.testing.assert_allclose(again.boxes, r.boxes)


def test_infer_is_deterministic_and_keeps_no_graph():
    model = _model()
    x = numpy.random.RandomState(1).rand(2, 3, 64, 64).astype(numpy.float32)
    a, b = model.infer(x), model.infer(x)
    numpy.testing.assert_array_equal(a.logits.array, b.logits.array)
    assert a.logits.creator is None and a.grids.creator is None
    with chainer.using_config('train', True):   # the caller's mode does not leak in
        c = model.infer(x)
    numpy.testing.assert_array_equal(a.logits.array, c.logits.array)
    out, feats = model.infer(x, return_features=True)
    assert 'conv0' in feats and out.logits.shape == a.logits.shape


@pytest.mark.parametrize('shape', [(2, 3, 32, 32), (3, 64, 64), (2, 1, 64, 64)])
def test_predict_names_the_size_it_needs(shape):
    with pytest.raises(ValueError, match=r'\(B, 3, 64, 64\)'):
        _model().predict(numpy.zeros(shape, numpy.float32))

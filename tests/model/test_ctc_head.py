"""The ``'ctc'`` recognition head (issue 20): shapes, the column resampling, the CTC loss
of ``SEELoss`` against the NumPy reference, one training step, save/load."""
import numpy
import pytest

import chainer

import chainer_see
from chainer_see import SEE
from chainer_see.evaluation.ctc_decode import ctc_loss_numpy
from chainer_see.links.recognition import column_interpolation, ctc_columns
from chainer_see.training.loss import SEELoss
from tests.evaluation.helpers import tiny_fsns_config, tiny_svhn_config


def svhn_ctc(**kw):
    return tiny_svhn_config(head='ctc', **kw)


def fsns_ctc(**kw):
    return tiny_fsns_config(head='ctc', backward_lstm=False, **kw)


def images(config, batch=2, seed=0):
    rng = numpy.random.RandomState(seed)
    return rng.rand(batch, 3, *config.image_size).astype(numpy.float32)


def model_of(config, seed=0):
    numpy.random.seed(seed)
    return SEE(config)


@pytest.mark.parametrize('make', [svhn_ctc, fsns_ctc], ids=['svhn', 'fsns'])
def test_logits_have_2t_plus_1_columns(make):
    cfg = make()
    model = model_of(cfg)
    with chainer.using_config('train', False):
        out = model(images(cfg))
    N, T, K = cfg.num_regions, cfg.num_chars, cfg.num_classes
    assert ctc_columns(T) == 2 * T + 1
    assert out.logits.shape == (2, N, 2 * T + 1, K)
    assert out.boxes.shape == (2, N * cfg.views, 4)
    rec = model.recognition_net
    assert not hasattr(rec, 'fc1')
    assert rec.classifier.W.shape == (K, 512)
    C = 128 if cfg.backbone == 'small-resnet' else 512
    assert rec.bilstm.n_layers == 2
    # the V views are joined per column: the first LSTM layer reads V * C features
    assert rec.bilstm.ws[0][0].shape == (256, cfg.views * C)


def test_set_num_chars_resamples_to_the_new_column_count():
    cfg = svhn_ctc()
    model = model_of(cfg)
    model.set_num_chars(3)
    with chainer.using_config('train', False):
        out = model(images(cfg))
    assert out.logits.shape[2] == 7


def test_backward_lstm_stays_lstm_only():
    with pytest.raises(ValueError, match="backward_lstm needs head='lstm'"):
        tiny_fsns_config(head='ctc')           # the fsns presets have backward_lstm=True
    assert fsns_ctc().head == 'ctc'


def test_resnet152_ctc_reads_res5_columns():
    cfg = tiny_fsns_config(head='ctc', backward_lstm=False, backbone='resnet152',
                           crop_size=(32, 64), num_regions=1, num_chars=2)
    model = model_of(cfg)
    assert model.recognition_net.bilstm.ws[0][0].shape == (256, 4 * 2048)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out = model(images(cfg, batch=1))
    assert out.logits.shape == (1, 1, 5, cfg.num_classes)


@pytest.mark.parametrize('width,columns', [(1, 5), (2, 11), (5, 11), (6, 11), (20, 9)])
def test_column_interpolation_is_linear_with_ends_aligned(width, columns):
    A = column_interpolation(width, columns)
    assert A.shape == (columns, width) and A.dtype == numpy.float32
    numpy.testing.assert_allclose(A.sum(axis=1), 1, rtol=1e-6)
    assert (A >= 0).all() and ((A > 0).sum(axis=1) <= 2).all()
    assert A[0, 0] == 1 and A[-1, -1] == 1
    # a linear ramp of columns is resampled to the linear ramp of the output positions
    ramp = numpy.arange(width, dtype=numpy.float64)
    expected = numpy.linspace(0, width - 1, columns) if width > 1 else numpy.zeros(columns)
    numpy.testing.assert_allclose(A.dot(ramp), expected, atol=1e-5)


LABELS = numpy.array([[[1, 2, 2, 0, 0], [0, 0, 0, 0, 0]],
                      [[3, 0, 0, 0, 0], [4, 5, 6, 7, 8]]], numpy.int32)


def test_seeloss_svhn_mode_is_the_sum_over_slots_of_the_numpy_ctc_loss():
    cfg = svhn_ctc()
    out = model_of(cfg)(images(cfg))
    loss, parts = SEELoss('svhn')(out, LABELS)
    z = out.logits.array
    want = sum(ctc_loss_numpy(z[:, n], LABELS[:, n]) for n in range(2))
    assert float(loss.array) == pytest.approx(want, rel=1e-5)
    assert parts['text'] == pytest.approx(want, rel=1e-5)
    # told the head, the same
    assert float(SEELoss('svhn', head='ctc')(out, LABELS)[0].array) == \
        pytest.approx(want, rel=1e-5)


def test_seeloss_fsns_and_paper_modes_with_ctc():
    cfg = svhn_ctc()
    out = model_of(cfg)(images(cfg))
    z = out.logits.array
    per_slot = [ctc_loss_numpy(z[:, n], LABELS[:, n]) for n in range(2)]
    fsns = SEELoss('fsns', word_weights=(1.0, 2.0))(out, LABELS)[0]
    assert float(fsns.array) == pytest.approx((per_slot[0] + 2 * per_slot[1]) / 2, rel=1e-5)
    paper = SEELoss('paper')(out, LABELS)[0]
    assert float(paper.array) == pytest.approx(sum(per_slot), rel=1e-5)


def test_seeloss_ctc_slot_accuracy_reads_the_best_path():
    cfg = svhn_ctc()
    out = model_of(cfg)(images(cfg))
    z = numpy.full(out.logits.shape, -10.0, numpy.float32)
    z[..., 0] = 10.0                         # every column blank: every slot reads empty
    out = out._replace(logits=chainer.Variable(z))
    labels = LABELS.copy()
    labels[0, 0] = 0                          # image 0: both slots empty -> right
    _, parts = SEELoss('svhn')(out, labels)
    assert parts['slot_accuracy'] == pytest.approx(2 / 4.0)


def test_one_sgd_step_lowers_the_ctc_loss():
    cfg = svhn_ctc()
    model = model_of(cfg)
    x = images(cfg, batch=4, seed=1)
    labels = numpy.array([[[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]]] * 4, numpy.int32)
    loss_fn = SEELoss('svhn')
    opt = chainer.optimizers.SGD(lr=0.01)
    opt.setup(model)

    def loss_of():
        # fixed batch-norm statistics and no dropout: the same function before and after
        with chainer.using_config('train', False):
            return loss_fn(model(x), labels)[0]
    before = loss_of()
    model.cleargrads()
    before.backward()
    assert model.recognition_net.bilstm.ws[0][0].grad is not None
    opt.update()
    after = loss_of()
    assert float(after.array) < float(before.array)


def test_save_load_round_trip_keeps_the_logits(tmp_path):
    cfg = fsns_ctc()
    model = model_of(cfg, seed=3)
    x = images(cfg)
    path = str(tmp_path / 'ctc.npz')
    chainer_see.save_model(model, path)
    loaded = chainer_see.load_model(path)
    assert loaded.config.head == 'ctc'
    assert loaded.config.replace(char_map='fsns') == model.config   # the file stores the list
    a = model.infer(x).logits.array
    b = loaded.infer(x).logits.array
    numpy.testing.assert_array_equal(a, b)


def test_onnx_export_refuses_the_ctc_head_in_one_line():
    pytest.importorskip('onnx')
    from chainer_see import export
    from chainer_see.export.layers import ExportError
    model = model_of(svhn_ctc())
    with pytest.raises(ExportError, match='no exporter for the ctc head') as e:
        export.build_onnx(model, export.DEFAULT_OUTPUTS, None)
    assert isinstance(e.value, ValueError) and '\n' not in str(e.value)

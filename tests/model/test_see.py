"""The SEE chain: shapes per preset, fast path vs plain Chainer, gradients, curriculum hooks."""
import copy

import numpy
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_see import SEE
from chainer_see import SEEConfig
from chainer_see.functions import affine_grid
from chainer_see.functions import multi_grid_sampler
from chainer_see.links import reference_ops
from chainer_see.training.loss import SEELoss


def _images(cfg, B, seed=0, dtype=numpy.float32):
    H, W = cfg.image_size
    return numpy.random.RandomState(seed).rand(B, 3, H, W).astype(dtype)


@pytest.mark.parametrize('name', ['svhn', 'svhn-grid', 'fsns', 'fsns-paper'])
def test_output_shapes_of_every_preset(name):
    cfg = SEEConfig.preset(name)
    model = SEE(cfg)
    B, N, T, K, V = 2, cfg.num_regions, cfg.num_chars, cfg.num_classes, cfg.views
    Ho, Wo = cfg.crop_size
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out = model(_images(cfg, B))
    assert out.logits.shape == (B, N, T, K)
    assert out.grids.shape == (B, N * V, 2, Ho, Wo)
    assert out.crops.shape == (B, N * V, 3, Ho, Wo)
    assert isinstance(out.boxes, numpy.ndarray) and out.boxes.shape == (B, N * V, 4)
    assert isinstance(out.logits, chainer.Variable)


def _same_model_fast_and_reference(cfg, B=2, seed=0):
    with chainer.using_config('dtype', numpy.float64):
        numpy.random.seed(seed)
        model = SEE(cfg)
    if hasattr(model.localization_net, 'transform_2'):    # off its zero start
        for _, p in model.localization_net.transform_2.namedparams():
            p.array[...] += numpy.random.RandomState(seed).randn(*p.shape) * 0.05
    x = _images(cfg, B, seed, numpy.float64)
    labels = numpy.random.RandomState(seed).randint(0, cfg.num_classes, (
        B, cfg.num_regions, cfg.num_chars)).astype(numpy.int32)
    results = []
    for ref, m in ((False, model), (True, copy.deepcopy(model))):
        with reference_ops(ref):
            out = m(x)
            loss, _ = SEELoss('paper', cfg.view_size, area_weight=0.1, aspect_weight=0.1,
                              direction_weight=1)(out, labels)
            m.cleargrads()
            loss.backward()
        grads = {k: p.grad for k, p in m.namedparams()}
        results.append((out, grads, m))
    return results


@pytest.mark.parametrize('cfg', [
    SEEConfig.preset('svhn', num_regions=2, rotation_dropout='none'),
    SEEConfig.preset('fsns-paper', image_size=(48, 96), views=2, num_regions=2,
                     num_chars=3, crop_size=(16, 24), rotation_dropout='none'),
    SEEConfig.preset('svhn', shortcut='identity', pooling='paper', transform_head='lstm',
                     head='independent', num_regions=2, rotation_dropout='none'),
], ids=['svhn-N2', 'resnet18-views2', 'paper-variants'])
def test_fast_path_equals_plain_chainer(cfg):
    """Same outputs and parameter gradients as the straightforward implementation."""
    (fast, gf, mf), (ref, gr, mr) = _same_model_fast_and_reference(cfg)
    for a, b in zip(fast, ref):
        a = a.array if isinstance(a, chainer.Variable) else a
        b = b.array if isinstance(b, chainer.Variable) else b
        numpy.testing.assert_allclose(a, b, atol=1e-9)
    assert sorted(gf) == sorted(gr)
    for k in gf:
        if gr[k] is None:
            assert gf[k] is None, k
            continue
        scale = max(1e-3, float(numpy.abs(gr[k]).max()))
        numpy.testing.assert_allclose(gf[k], gr[k], atol=1e-8 * scale, err_msg=k)
    # the running statistics of batch normalization were updated alike
    for (k, l1), l2 in zip(sorted(mf.namedlinks()), (l for _, l in sorted(mr.namedlinks()))):
        if isinstance(l1, chainer.links.BatchNormalization):
            numpy.testing.assert_allclose(l1.avg_mean, l2.avg_mean, atol=1e-10, err_msg=k)
            numpy.testing.assert_allclose(l1.avg_var, l2.avg_var, atol=1e-10, err_msg=k)


def test_views_are_localized_and_sampled_on_their_own():
    cfg = SEEConfig.preset('fsns-paper', image_size=(48, 96), views=2, num_regions=2,
                           num_chars=3, crop_size=(16, 24), rotation_dropout='none',
                           transform_head='linear')
    model = SEE(cfg)
    x = _images(cfg, 3)
    with chainer.using_config('train', False):
        out = model(x)
        # the localization net sees view v of image b as batch item b*V + v
        views = [x[:, :, :, :48], x[:, :, :, 48:]]
        for v in range(2):
            theta = model.localization_net(views[v]).array             # (B, N, 2, 3)
            for n in range(2):
                grid = F.spatial_transformer_grid(theta[:, n], (16, 24)).array
                numpy.testing.assert_allclose(out.grids.array[:, n * 2 + v], grid, atol=1e-6)
                crop = F.spatial_transformer_sampler(views[v], grid).array
                numpy.testing.assert_allclose(out.crops.array[:, n * 2 + v], crop, atol=1e-6)
    # zoom 0.9 start: each box is the centred 90% of its view, shifted by the view offset
    lo, hi = 0.05 * 47, 0.95 * 47
    for v in range(2):
        numpy.testing.assert_allclose(out.boxes[:, v::2], numpy.broadcast_to(
            [lo + 48 * v, lo, hi + 48 * v, hi], (3, 2, 4)), atol=1e-4)


def test_text_loss_alone_reaches_every_localization_parameter():
    """The semi-supervised property: no box labels, yet the localization network learns.

    At initialization ``transform_2.W`` is zero, which blocks the gradient to the layers
    below it; after the first update it is not, so we start from small random weights.
    """
    cfg = SEEConfig.preset('svhn', num_regions=2, rotation_dropout='none')
    numpy.random.seed(3)
    model = SEE(cfg)
    model.localization_net.transform_2.W.array[...] = numpy.random.RandomState(0).randn(
        6, 256) * 0.01
    x = _images(cfg, 4)
    labels = numpy.random.RandomState(1).randint(0, 11, (4, 2, 5)).astype(numpy.int32)
    loss_fn = SEELoss('svhn')                  # text only: no regularizer touches the grids
    assert not loss_fn.uses_regularizers
    for train in (True, False):
        with chainer.using_config('train', train):
            loss, _ = loss_fn(model(x), labels)
        model.cleargrads()
        loss.backward()
        for name, p in model.localization_net.namedparams():
            assert p.grad is not None, name
            size = float(numpy.abs(p.grad).max())
            before_bn = name.endswith('/b') and name.split('/')[-2].startswith('conv')
            if train and before_bn:
                # a conv bias followed by batch normalization in training mode: the batch
                # mean cancels it, so its gradient is zero up to rounding
                assert size < 1e-5, name
            else:
                assert size > 1e-9, (name, train)


def test_sampler_gradient_reaches_theta():
    """d(recognition output)/d(theta) through affine_grid + multi_grid_sampler, numerically."""
    cfg = SEEConfig.preset('svhn', image_size=(40, 40), crop_size=(36, 36))
    with chainer.using_config('dtype', numpy.float64):
        model = SEE(cfg)
    rng = numpy.random.RandomState(0)
    x = rng.rand(2, 3, 40, 40)
    # all sampling points well inside the image (bilinear sampling has kinks at borders)
    theta = numpy.array([[[0.6, 0.1, 0.05], [-0.05, 0.6, 0.1]],
                         [[0.5, -0.1, -0.1], [0.1, 0.7, 0.0]]]).reshape(2, 1, 2, 3)
    gy = rng.randn(2, 5, 11)

    def f(theta):
        crops = multi_grid_sampler(x, affine_grid(theta, cfg.crop_size))
        return model.recognition_net(F.reshape(crops, (2, 3, 36, 36)))
    with chainer.using_config('train', False):
        gradient_check.check_backward(f, (theta,), gy, eps=1e-6, atol=1e-5, rtol=1e-4)
        t = chainer.Variable(theta)
        y = f(t)
        y.grad = gy
        y.backward()
    assert numpy.abs(t.grad).min() > 0


def test_curriculum_and_restart_hooks():
    cfg = SEEConfig.preset('svhn', num_regions=1)
    model = SEE(cfg)
    x = _images(cfg, 2)
    loc_before = {k: p.array.copy() for k, p in model.localization_net.namedparams()}
    rec_before = {k: p.array.copy() for k, p in model.recognition_net.namedparams()}
    model.set_num_regions(3)
    model.set_num_chars(7)
    assert model.config.num_regions == 3 and model.config.num_chars == 7
    with chainer.using_config('train', False):
        out = model(x)
    assert out.logits.shape == (2, 3, 7, 11) and out.boxes.shape == (2, 3, 4)
    for k, p in model.localization_net.namedparams():
        numpy.testing.assert_array_equal(p.array, loc_before[k])
    loc_params = [id(p) for p in model.localization_net.params()]
    new = model.reset_recognition()
    assert model.recognition_net is new
    assert [id(p) for p in model.localization_net.params()] == loc_params
    changed = [k for k, p in model.recognition_net.namedparams()
               if k.endswith('/W') and not numpy.array_equal(p.array, rec_before[k])]
    assert len(changed) > 10
    assert sorted(k for k, _ in model.recognition_net.namedparams()) == sorted(rec_before)
    assert model(x).logits.shape == (2, 3, 7, 11)


def _initial_boxes(cfg):
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        return SEE(cfg)(_images(cfg, 2)).boxes


@pytest.mark.parametrize('N,cells', [
    (4, [(0, 0), (1, 0), (0, 1), (1, 1)]),          # 2 x 2, reading order
    (3, [(0, 0), (1, 0), (0, 1)]),                  # 2 columns, 2 rows, the last cell empty
    (2, [(0, 0), (1, 0)]),                          # 2 columns, 1 row
])
def test_grid_slot_layout_starts_each_region_on_its_own_cell(N, cells):
    # 81x81 view: grid units map to pixels (x + 1) * 40; zoom 1 makes the cells exact
    cfg = SEEConfig.preset('svhn', image_size=(81, 81), num_regions=N, zoom=1.0,
                           slot_layout='grid')
    cols = 2
    rows = (N + cols - 1) // cols
    w, h = 80.0 / cols, 80.0 / rows
    want = [(c * w, r * h, (c + 1) * w, (r + 1) * h) for c, r in cells]
    boxes = _initial_boxes(cfg)
    for b in range(2):
        numpy.testing.assert_allclose(boxes[b], want, atol=1e-4)
    # zoom 0.5: the centred half of each cell
    boxes = _initial_boxes(cfg.replace(zoom=0.5))
    half = [(x0 + w / 4, y0 + h / 4, x1 - w / 4, y1 - h / 4) for x0, y0, x1, y1 in want]
    numpy.testing.assert_allclose(boxes[0], half, atol=1e-4)


def test_without_slot_layout_every_region_starts_on_the_same_box():
    boxes = _initial_boxes(SEEConfig.preset('svhn', image_size=(81, 81), num_regions=4,
                                            zoom=1.0))
    numpy.testing.assert_allclose(boxes[0], [(0, 0, 80, 80)] * 4, atol=1e-4)


def test_slot_layout_offsets_are_constant_and_the_head_still_learns():
    cfg = SEEConfig.preset('svhn', num_regions=4, slot_layout='grid', rotation_dropout='none')
    model = SEE(cfg)
    model.cleargrads()                        # Chainer starts a fresh link's grads as NaN
    out = model(_images(cfg, 2))
    F.sum(out.grids[:, 3]).backward()         # only region 3's grid
    head = model.localization_net.transform_2
    assert numpy.abs(head.b.grad).max() > 0 and numpy.abs(head.W.grad).max() > 0
    # the anchors are no parameter: the model's parameters are those of slot_layout='none'
    plain = SEE(cfg.replace(slot_layout='none'))
    assert (sorted(k for k, _ in model.namedparams())
            == sorted(k for k, _ in plain.namedparams()))


def test_wrong_image_size_is_reported():
    model = SEE(SEEConfig.preset('svhn'))
    with pytest.raises(ValueError,
                       match=r'built for 64x64 images \(config.image_size\), got 50x64'):
        model(numpy.zeros((1, 3, 50, 64), numpy.float32))

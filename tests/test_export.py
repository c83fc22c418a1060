"""ONNX export: onnxruntime gives the Chainer model's logits and boxes (test mode) for
every preset and every transform head, backbone and reading head of ``config.py``, with
random weights and batch-norm statistics far from (0, 1); the sampler and the LSTMs
are checked on their own against Chainer's functions; the file carries its char map and
image size."""
import json
import os

import numpy
import pytest

import chainer
import chainer.links as L

from chainer_see import SEE, SEEConfig, config as config_mod, save_model
from chainer_see.functions import multi_grid_sampler
from chainer_see.links.recurrent import lstm_steps

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

from chainer_see import export  # noqa: E402
from chainer_see.export import layers, network  # noqa: E402

#: acceptance of issue 19: onnxruntime equals Chainer to 1e-4 (numpy.allclose)
TOL = dict(rtol=1e-4, atol=1e-4)

SMALL = dict(loc_units=32, rec_units=32)
#: heads the export refuses with one line (tests/model/test_ctc_head.py checks the
#: refusal): the ctc head's bidirectional LSTM over columns has no exporter yet
NOT_EXPORTED = {'head': ('ctc',)}
#: the structural options of config.py: every value of each must be exported, but those
#: of NOT_EXPORTED
OPTIONS = {'transform_head': config_mod.TRANSFORM_HEADS, 'backbone': config_mod.BACKBONES,
           'head': tuple(h for h in config_mod.HEADS if h not in NOT_EXPORTED['head']),
           'backward_lstm': (False, True),
           'rotation_dropout': config_mod.ROTATION_DROPOUTS,
           'slot_layout': config_mod.SLOT_LAYOUTS, 'shortcut': config_mod.SHORTCUTS,
           'pooling': config_mod.POOLINGS}
#: the multi-view preset with the cheapest reader (ResNet-18), for the variants
VIEWS = 'fsns-paper' if 'fsns-paper' in config_mod.PRESETS else 'fsns'


def tiny(preset):
    """Small inputs of a preset's kind (the localization net needs >= 34 px a side, the
    small-resnet reader >= 35 px crops)."""
    p = config_mod.PRESETS[preset]
    if p.get('views', 1) > 1:
        return dict(image_size=(40, 40 * p['views']), crop_size=(16, 24), num_regions=2,
                    num_chars=4)
    if p.get('num_regions', 1) > 1:
        return dict(image_size=(48, 48), crop_size=(36, 40))
    return dict(image_size=(40, 40), crop_size=(36, 36), num_regions=2)


def variants():
    """``(id, preset, overrides)``: every preset as published, then each value of each
    structural option (:data:`OPTIONS`) that no preset has, on the grid preset (N = 4
    regions) and, for the reading heads, on the multi-view one too."""
    out = [(p, p, {}) for p in config_mod.PRESETS]
    covered = {(k, config_mod.PRESETS[p].get(k, getattr(SEEConfig, k)))
               for p in config_mod.PRESETS for k in OPTIONS}
    for key, values in OPTIONS.items():
        for v in values:
            if (key, v) in covered and key not in ('head', 'rotation_dropout'):
                continue
            kw = {key: v}
            if key == 'head':
                kw['backward_lstm'] = False
            if key == 'rotation_dropout':
                kw['rotation_dropout_ratio'] = 0.3
            if key == 'slot_layout':
                kw['zoom'] = 0.8
            base = ['svhn-grid'] + ([VIEWS] if key in ('head', 'shortcut') else [])
            out += [('%s=%s (%s)' % (key, v, b), b, kw) for b in base]
    out.append(('views=2', 'svhn-grid', dict(views=2, image_size=(40, 80))))
    # the localization reading the view shrunk by a whole factor
    out.append(('loc_input_size', 'svhn-grid', dict(image_size=(80, 80),
                                                   loc_input_size=(40, 40))))
    return out


def tiny_config(preset, **overrides):
    kw = dict(SMALL, **tiny(preset))
    kw.update(overrides)
    return SEEConfig.preset(preset, **kw)


def randomized(model, seed=1):
    """Batch-norm statistics, scales and shifts far from (0, 1, 1, 0); a transform head
    whose output depends on the image (rotations included), so that boxes vary and
    reach outside the image."""
    rng = numpy.random.RandomState(seed)
    for _, link in model.namedlinks():
        if isinstance(link, L.BatchNormalization):
            link.avg_mean[...] = rng.randn(*link.avg_mean.shape) * 0.5
            link.avg_var[...] = rng.uniform(0.3, 3, link.avg_var.shape)
            link.gamma.array[...] = rng.uniform(0.5, 1.5, link.gamma.shape)
            link.beta.array[...] = rng.randn(*link.beta.shape) * 0.2
    head = model.localization_net.transform_2      # a Linear or an LSTM (its input weights)
    weights = head.upward.W if isinstance(head, L.LSTM) else head.W
    weights.array[...] = rng.randn(*weights.shape) * 0.3
    return model


def make_model(preset, seed=0, **overrides):
    key = (preset, seed, json.dumps(overrides, sort_keys=True))
    if key not in _MODELS:       # a ResNet-152 reader takes seconds to build
        numpy.random.seed(seed)
        _MODELS[key] = randomized(SEE(tiny_config(preset, **overrides)), seed + 1)
    return _MODELS[key]


_MODELS = {}


def chainer_output(model, x):
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out = model(x)
    return out.logits.array, numpy.asarray(out.boxes), out.grids.array, out.crops.array


def check_equal(model, x, outputs=('logits', 'boxes', 'grids', 'crops')):
    proto = export.build_onnx(model, outputs=outputs)
    got = export.OnnxSEE(proto)(x)
    want = chainer_output(model, x)
    for name, w in zip(('logits', 'boxes', 'grids', 'crops'), want):
        if name in outputs:
            g = getattr(got, name)
            assert g.shape == w.shape, name
            numpy.testing.assert_allclose(g, w, err_msg=name, **TOL)
    return proto, got


# ---------------------------------------------------------------- whole model
@pytest.mark.parametrize('preset,overrides', [v[1:] for v in variants()],
                         ids=[v[0] for v in variants()])
def test_onnxruntime_equals_chainer_on_random_inputs(preset, overrides):
    model = make_model(preset, **overrides)
    H, W = model.config.image_size
    x = numpy.random.RandomState(2).rand(3, 3, H, W).astype(numpy.float32)
    proto, got = check_equal(model, x)
    onnx.checker.check_model(proto, full_check=True)
    # the output is not trivial: regions differ between images and reach past the edge
    assert numpy.ptp(got.boxes[:, 0]) > 0.5
    assert numpy.ptp(got.logits) > 1e-3


@pytest.mark.parametrize('preset,kind', [('svhn', 'svhn-crops'), ('svhn-grid', 'svhn-grid'),
                                         ('fsns', 'fsns-like'), (VIEWS, 'fsns-like')])
def test_onnxruntime_equals_chainer_on_rendered_images(preset, kind):
    from chainer_see.data.synthetic import SyntheticDataset
    model = make_model(preset)
    ds = SyntheticDataset(kind, 4, seed=5, image_size=model.config.image_size)
    x = numpy.stack([ds[i][0] for i in range(len(ds))])
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.05
    check_equal(model, x, outputs=('logits', 'boxes'))


def test_every_structural_option_is_exported():
    """A new backbone, head or transform head in config.py is among the variants above
    (they are generated from its tuples), and comes with an exporter."""
    configs = [tiny_config(p, **kw) for _, p, kw in variants()]
    for key, values in OPTIONS.items():
        assert {getattr(c, key) for c in configs} == set(values), key
    assert {c.views for c in configs} >= {1, 2, 4}
    assert set(config_mod.BACKBONES) <= set(network.BACKBONES)


def test_batch_size_is_dynamic_and_the_graph_is_opset_17():
    model = make_model('svhn')
    proto = export.build_onnx(model)
    assert [o.version for o in proto.opset_import] == [17]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == 'batch' and [d.dim_value for d in dims[1:]] == [3, 40, 40]
    assert [o.name for o in proto.graph.output] == ['logits', 'boxes', 'grids']
    ops = {n.op_type for n in proto.graph.node}
    assert {'GridSample', 'LSTM', 'Conv', 'BatchNormalization'} <= ops
    sampler, = [n for n in proto.graph.node if n.op_type == 'GridSample']
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in sampler.attribute}
    assert attrs == {'mode': b'bilinear', 'padding_mode': b'zeros', 'align_corners': 1}
    run = export.OnnxSEE(proto)
    for B in (1, 5):
        x = numpy.random.RandomState(B).rand(B, 3, 40, 40).astype(numpy.float32)
        numpy.testing.assert_allclose(run(x).logits, chainer_output(model, x)[0], **TOL)


# ---------------------------------------------------------------- parts
def _run(g, inputs, outputs):
    """Run the graph under construction ``g`` with ``inputs {name: array}``."""
    helper = onnx.helper
    vi = [helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, None) for k in inputs]
    vo = [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outputs]
    model = helper.make_model(helper.make_graph(g.nodes, 't', vi, vo, g.initializers),
                              opset_imports=[helper.make_opsetid('', layers.OPSET)])
    model.ir_version = layers.IR_VERSION
    sess = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])
    return sess.run(list(outputs), {k: v.astype(numpy.float32) for k, v in inputs.items()})


def test_gridsample_is_the_sampler_inside_on_the_edge_and_far_outside():
    """The sampler's convention (align corners, zero border, reads nothing beyond one
    pixel out) is GridSample's bilinear/zeros/align_corners=1."""
    rng = numpy.random.RandomState(0)
    B, N, C, H, W, Ho, Wo = 2, 3, 3, 7, 9, 4, 5
    x = rng.rand(B, C, H, W).astype(numpy.float32)
    grid = rng.uniform(-1.6, 1.6, (B, N, 2, Ho, Wo)).astype(numpy.float32)
    step_x, step_y = 2.0 / (W - 1), 2.0 / (H - 1)
    special = [(-1, -1), (1, 1), (-1 - step_x, 0), (1 + step_x, 0), (0, -1 - step_y),
               (-1 - step_x / 2, 1 + step_y / 2), (7.5, -3), (-1e3, 1e3), (0.999, -0.999)]
    for k, (u, v) in enumerate(special):
        grid[0, 1, 0].flat[k], grid[0, 1, 1].flat[k] = u, v
    g = layers.Graph()
    out = network.sample(g, 'x', g.reshape('grid', [B, N, 2, Ho * Wo], 'g'), N, C, (Ho, Wo))
    got, = _run(g, {'x': x, 'grid': grid}, [out])
    want = multi_grid_sampler(x, grid).array
    numpy.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert (want[0, 1, :, 1, 2] == 0).all() and (got[0, 1, :, 1, 2] == 0).all()  # (7.5, -3)
    assert (got != 0).mean() > 0.5


@pytest.mark.parametrize('reverse', [False, True])
def test_lstm_node_is_chainers_lstm_run_from_zero(reverse):
    numpy.random.seed(3)
    link = L.LSTM(5, 4)
    link.upward.b.array[...] = numpy.random.randn(16)
    xs = numpy.random.RandomState(4).randn(3, 2, 5).astype(numpy.float32)   # (T, M, in)
    g = layers.Graph()
    out = layers.lstm(g, link, 'xs', 'lstm', reverse=reverse)
    got, = _run(g, {'xs': xs}, [out])
    seq = list(xs[::-1] if reverse else xs)
    want = numpy.stack([h.array for h in lstm_steps(link, xs=seq)])
    numpy.testing.assert_allclose(got, want[::-1] if reverse else want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('mode,ratio,off', [('code', 0.3, 0.3), ('sample', 0.3, 1.0),
                                            ('none', 0.5, 1.0)])
def test_rotation_dropout_factors_are_the_test_time_ones(mode, ratio, off):
    f = network.rotation_dropout_factors(ratio, mode)
    numpy.testing.assert_allclose(f, [1, off, 1, off, 1, 1], rtol=1e-7)


# ---------------------------------------------------------------- file and metadata
def test_file_alone_carries_config_char_map_and_image_size(tmp_path):
    model = make_model(VIEWS)
    path = str(tmp_path / 'fsns.onnx')
    export.to_onnx(model, path, model_metadata={'dataset': 'synthetic-fsns'})
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert set(props) == set(export.METADATA_KEYS)
    chars = model.config.get_char_map().to_list()
    assert json.loads(props['see.char_map']) == chars and len(chars) == 134
    assert json.loads(props['see.image_size']) == [40, 160] and props['see.views'] == '4'
    run = export.OnnxSEE(path)
    assert run.config == model.config.replace(char_map=chars)
    assert run.metadata == {'dataset': 'synthetic-fsns'}
    assert run.outputs == ['logits', 'boxes', 'grids']


def test_a_failed_write_leaves_nothing_and_names_the_file(tmp_path):
    (tmp_path / 'a_file').write_text('x')
    target = tmp_path / 'a_file' / 'm.onnx'             # a folder that cannot be made
    with pytest.raises(OSError) as e:
        export.to_onnx(make_model('svhn'), str(target))
    assert e.value.filename == str(target)
    assert os.listdir(str(tmp_path)) == ['a_file']
    made = tmp_path / 'new_folder' / 'm.onnx'           # a missing folder is made
    export.to_onnx(make_model('svhn'), str(made))
    assert os.listdir(str(made.parent)) == ['m.onnx']


def test_an_onnx_file_without_see_metadata_is_refused(tmp_path):
    from chainer_see.model_io import ModelFileError
    g = layers.Graph()
    out = g.op('Relu', ['image'], 'y')
    helper = onnx.helper
    m = helper.make_model(helper.make_graph(
        g.nodes, 't', [helper.make_tensor_value_info('image', onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, [1])]),
        opset_imports=[helper.make_opsetid('', 17)])
    m.ir_version = 8
    path = str(tmp_path / 'other.onnx')
    onnx.save(m, path)
    with pytest.raises(ModelFileError, match='without SEE metadata'):
        export.OnnxSEE(path)
    (tmp_path / 'junk.onnx').write_bytes(b'not a protobuf at all')
    with pytest.raises(ModelFileError, match='not a readable ONNX model file'):
        export.OnnxSEE(str(tmp_path / 'junk.onnx'))
    save_model(make_model('svhn'), str(tmp_path / 'm.npz'))
    with pytest.raises(ModelFileError, match='npz'):
        export.OnnxSEE(str(tmp_path / 'm.npz'))

"""ONNX export of a trained SEE model, checked in onnxruntime.

    from chainer_see import load_model
    from chainer_see.export import to_onnx, OnnxSEE
    to_onnx(load_model('model.npz'), 'model.onnx')      # python export.py model.npz model.onnx
    out = OnnxSEE('model.onnx')(x)                       # x float32 (B, 3, H, W) in [0, 1]
    out.logits, out.boxes                                # as SEEOutput has them (NumPy)

The graph (opset 17, IR 8) has one input, ``image`` ``(B, 3, H, W)`` with a dynamic
batch axis, exactly the array ``SEE.forward`` takes, and the outputs ``logits (B, N, T,
K)``, ``boxes (B, N*V, 4)``, ``grids (B, N*V, 2, Ho, Wo)`` and, on request, ``crops``.
The sampler is one ``GridSample`` per image (bilinear, zeros padding,
``align_corners=1``) fed with the stacked grids of its N regions; the localization and
recognition LSTMs are ONNX ``LSTM`` nodes (the backward LSTM of FSNS one with
``direction='reverse'``).  The model's configuration (char map included) and the model
file's metadata travel in ``metadata_props`` (:data:`METADATA_KEYS`), so the ``.onnx``
file alone is enough to read images (``predict.py --backend onnxruntime``).

Why not onnx-chainer.  onnx-chainer 1.6.0 (2019; the same code ships inside Chainer
7.8.1 as ``onnx_chainer``) was tried against onnx 1.23 and onnxruntime 1.32:

* its package requires ``chainer<7`` and ``onnx<1.7``;
* it imports ``onnx.mapping``, which current onnx no longer has, so it reports "ONNX
  is not installed" and exports nothing;
* its highest opset is 11, and ``GridSample`` needs opset 16;
* with ``onnx.mapping`` shimmed, tracing SEE still fails: it has no converter for
  ``F.lstm`` ("LSTM is not supported"), none for Chainer's spatial-transformer sampler
  or this project's FunctionNodes, it needs every output to be a Variable (``boxes``
  is an array), and a traced graph bakes the batch size into its ``Reshape``s.

So the graph is built here with ``onnx.helper``, one small function per layer type
(:mod:`.layers`), composed like the Chainer links (:mod:`.network`).  ``onnx`` and
``onnxruntime`` are the ``export`` extra (``pip install -e .[export]``), imported only
when an export or an ONNX model is used.
"""
import json

import numpy

from chainer_see.export.layers import IR_VERSION
from chainer_see.export.layers import OPSET
from chainer_see.export.layers import ExportError
from chainer_see.export.layers import Graph
from chainer_see.export.runtime import OnnxSEE  # noqa: F401
from chainer_see.export.runtime import read_onnx_config  # noqa: F401
from chainer_see.export.runtime import require

#: ``metadata_props`` keys: JSON values, readable without this package
METADATA_KEYS = {
    'see.config': 'SEEConfig JSON, the char map as its list of characters',
    'see.char_map': 'JSON list: the character of each class id (0 = blank)',
    'see.image_size': 'JSON [H, W] of the input image (all views)',
    'see.views': 'views side by side along the width',
    'see.input': 'what the image input holds',
    'see.outputs': 'what each output holds',
    'see.model_metadata': "JSON of the model file's metadata (training), if any",
}
INPUT_TEXT = 'float32 (B, 3, H, W), RGB, values in [0, 1]; H, W = see.image_size'
OUTPUTS_TEXT = ('logits (B, N, T, K): class scores of each character (argmax, drop 0); '
                'boxes (B, N*V, 4): x_min, y_min, x_max, y_max in pixels of the input, '
                'region-major (n*V + v); grids (B, N*V, 2, Ho, Wo): sampling points in '
                '[-1, 1] of the view (x, y); crops (B, N*V, 3, Ho, Wo): the sampled regions')
#: the outputs written by default, and all there are
DEFAULT_OUTPUTS = ('logits', 'boxes', 'grids')
OUTPUTS = ('logits', 'boxes', 'grids', 'crops')
#: largest difference to the Chainer model that :func:`verify` accepts (absolute and
#: relative, as ``numpy.allclose``)
TOLERANCE = 1e-4


def metadata_props(config, model_metadata=None):
    """``{key: text}`` of :data:`METADATA_KEYS` for a model of ``config``."""
    cfg = config.to_dict()
    chars = config.get_char_map().to_list()
    cfg['char_map'] = chars
    props = {
        'see.config': json.dumps(cfg, ensure_ascii=False, sort_keys=True),
        'see.char_map': json.dumps(chars, ensure_ascii=False),
        'see.image_size': json.dumps(list(config.image_size)),
        'see.views': str(config.views),
        'see.input': INPUT_TEXT,
        'see.outputs': OUTPUTS_TEXT,
    }
    if model_metadata is not None:
        props['see.model_metadata'] = json.dumps(model_metadata, ensure_ascii=False,
                                                 sort_keys=True)
    return props


def build_onnx(model, outputs=DEFAULT_OUTPUTS, model_metadata=None):
    """``SEE`` -> ``onnx.ModelProto`` (checked by ``onnx.checker``, shapes inferred)."""
    onnx = require('onnx')
    from onnx import helper
    from chainer_see.export import network
    unknown = sorted(set(outputs) - set(OUTPUTS))
    if unknown or not outputs:
        raise ValueError('outputs must be some of %s, got %s' % (', '.join(OUTPUTS), outputs))
    g = Graph(reserved=('image',) + OUTPUTS)
    H, W = model.config.image_size
    built = network.see(g, model, 'image')
    outs = []
    for name in OUTPUTS:
        if name in outputs:
            tensor, shape = built[name]
            g.name_output(tensor, name)
            outs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        g.nodes, 'see', [helper.make_tensor_value_info('image', onnx.TensorProto.FLOAT,
                                                       ['batch', 3, H, W])],
        outs, initializer=g.initializers)
    from chainer_see import __version__
    proto = helper.make_model(graph, producer_name='chainer-see', producer_version=__version__,
                              opset_imports=[helper.make_opsetid('', OPSET)],
                              doc_string='SEE (Bartz et al., AAAI 2018) text spotter')
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, metadata_props(model.config, model_metadata))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model, path, outputs=DEFAULT_OUTPUTS, model_metadata=None):
    """Write ``model`` (a ``SEE``, any device) as ONNX to ``path``, atomically.

    Returns the ``onnx.ModelProto``.  ``outputs``: some of :data:`OUTPUTS` (``crops``
    makes the graph copy every region out); ``model_metadata``: the model file's
    metadata, stored as ``see.model_metadata``.
    """
    from chainer_see.atomic import atomic_file
    proto = build_onnx(model, outputs, model_metadata)
    data = proto.SerializeToString()
    with atomic_file(path) as f:
        f.write(data)
    return proto


def verify(model, onnx_model, batch_size=2, seed=0, x=None):
    """Largest differences between ``model`` (Chainer, test mode) and ``onnx_model``
    (an :class:`OnnxSEE`, a path, bytes or ``ModelProto``) on ``x`` (default: random
    images in [0, 1]).  Returns ``{output: max |difference| / (1 + |Chainer value|)}``
    for ``logits`` and ``boxes``, to compare with :data:`TOLERANCE`.
    """
    from chainer_see.evaluation import inference
    if not isinstance(onnx_model, OnnxSEE):
        onnx_model = OnnxSEE(onnx_model)
    if x is None:
        H, W = model.config.image_size
        x = numpy.random.RandomState(seed).rand(batch_size, 3, H, W).astype(numpy.float32)
    logits, boxes = inference.forward(model, x)
    got = onnx_model(x)
    return {'logits': _relative(got.logits, logits), 'boxes': _relative(got.boxes, boxes)}


def _relative(a, b):
    a, b = numpy.asarray(a, numpy.float64), numpy.asarray(b, numpy.float64)
    if a.shape != b.shape:
        raise ExportError('ONNX output of shape %s, Chainer %s' % (a.shape, b.shape))
    return float((numpy.abs(a - b) / (1 + numpy.abs(b))).max()) if a.size else 0.0


__all__ = ['to_onnx', 'build_onnx', 'verify', 'OnnxSEE', 'ExportError', 'metadata_props',
           'read_onnx_config', 'METADATA_KEYS', 'OPSET', 'TOLERANCE']

"""Running an exported SEE model in onnxruntime, like the Chainer model.

``OnnxSEE(path)`` reads the ``.onnx`` file alone: its ``config`` (a ``SEEConfig``, char
map included) comes from the file's ``metadata_props``, and ``model(x)`` returns a
``SEEOutput`` of NumPy arrays, so ``evaluation.inference.read`` and ``predict`` take it
where they take a ``SEE``.
"""
import json
import os

import numpy

from chainer_see.config import SEEConfig
from chainer_see.links.see import SEEOutput
from chainer_see.links.see import read_output
from chainer_see.model_io import ModelFileError

INSTALL_HINT = 'pip install -e .[export]'


def require(name):
    """Import ``onnx`` or ``onnxruntime``; ``ImportError`` naming the extra if missing."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError('the ONNX export needs the %s package: %s' % (name, INSTALL_HINT)) \
            from None


def _session(source, gpu=-1):
    ort = require('onnxruntime')
    providers = ['CPUExecutionProvider']
    if gpu >= 0:
        if 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise ValueError('--gpu %d: this onnxruntime has no CUDA provider (install '
                             'onnxruntime-gpu), or run on the CPU with --gpu -1' % gpu)
        providers.insert(0, ('CUDAExecutionProvider', {'device_id': int(gpu)}))
    options = ort.SessionOptions()
    options.log_severity_level = 3          # errors only: no notes about unused outputs
    return ort.InferenceSession(source, options, providers=providers)


def _open(path, gpu):
    """An onnxruntime session of the file ``path``, or ``ModelFileError`` saying why not."""
    if not os.path.exists(path):
        raise ModelFileError(path, 'no such ONNX model file')
    if os.path.isdir(path):
        raise ModelFileError(path, 'is a folder, not an ONNX model file')
    with open(path, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK'):
        raise ModelFileError(path, 'an .npz (Chainer) model file, not ONNX: use --backend '
                                   'chainer, or export it with export.py')
    try:
        return _session(path, gpu)
    except (ImportError, ValueError):
        raise
    except Exception as e:   # noqa: BLE001  (onnxruntime raises its own exception types)
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(path, 'not a readable ONNX model file (%s)' % reason) from None


def read_onnx_config(props, path='<onnx>'):
    """``SEEConfig`` of an exported model from its metadata ``{key: text}``."""
    if 'see.config' not in props:
        raise ModelFileError(path, 'an ONNX file without SEE metadata (see.config): not '
                                   'written by export.py')
    try:
        return SEEConfig.from_json(props['see.config'])
    except ValueError as e:
        raise ModelFileError(path, 'bad see.config metadata (%s)' % e) from None


class OnnxSEE(object):
    """An exported SEE model in onnxruntime.

    Args:
        source: path of the ``.onnx`` file, its bytes, or an ``onnx.ModelProto``.
        gpu: ``< 0`` CPU; else the CUDA provider on that device (onnxruntime-gpu).

    Attributes: ``config`` (``SEEConfig``), ``metadata`` (the model file's metadata dict
    or ``None``), ``props`` (all ``metadata_props``), ``session``, ``outputs`` (names).
    """

    def __init__(self, source, gpu=-1):
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            self.session = _open(self.path, gpu)
        else:
            self.path = '<onnx>'
            data = source if isinstance(source, bytes) else source.SerializeToString()
            self.session = _session(data, gpu)
        self.props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.config = read_onnx_config(self.props, self.path)
        meta = self.props.get('see.model_metadata')
        self.metadata = json.loads(meta) if meta else None
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, x):
        """``x`` float32 ``(B, 3, H, W)`` -> ``SEEOutput`` of NumPy arrays (``None`` for an
        output the file does not have)."""
        x = numpy.ascontiguousarray(x, dtype=numpy.float32)
        H, W = self.config.image_size
        if x.ndim != 4 or x.shape[1:] != (3, H, W):
            raise ValueError('the ONNX SEE model takes (B, 3, %d, %d) images, got %s'
                             % (H, W, x.shape))
        got = dict(zip(self.outputs, self.session.run(self.outputs, {'image': x})))
        return SEEOutput(got.get('logits'), got.get('grids'), got.get('crops'),
                         got.get('boxes'))

    def infer(self, x, return_features=False):
        """As ``SEE.infer``: the file is a test-mode network already."""
        if return_features:
            raise ValueError('an ONNX SEE model has no localization features to return')
        return self(x)

    def predict(self, images, char_map=None):
        """As ``SEE.predict``: ``(B, 3, H, W)`` images -> ``Reading``."""
        out = self(numpy.stack(images) if isinstance(images, (list, tuple)) else images)
        return read_output(out.logits, out.boxes, char_map or self.config.get_char_map())

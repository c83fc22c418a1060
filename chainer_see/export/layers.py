"""ONNX layers built with ``onnx.helper``: one small function per layer type, each
reading the weights of one Chainer link.

Every function takes the :class:`Graph` under construction, the link, the name of its
input tensor and the link's path in the model (``localization_net/rs1/conv0``; the
initializers are named after the Chainer parameters, ``.../W``), and returns the name
of its output tensor.  The batch axis stays symbolic: every ``Reshape`` keeps it
with ``0`` or infers it with ``-1``.  Test mode: batch normalization with the stored
statistics.
"""
import numpy

import chainer
from chainer import backend

#: the opset the graph is written for: ``GridSample`` needs 16; 17 keeps the ``axes``
#: of ``ReduceMin``/``ReduceMax`` an attribute (an input from 18 on)
OPSET = 17
#: IR version of opset 17, so that runtimes from 2022 on read the file
IR_VERSION = 8
#: ONNX's LSTM gate blocks (i, o, f, c) as indices of Chainer's interleaved (a, i, f, o)
LSTM_GATES = (1, 3, 2, 0)


class ExportError(ValueError):
    """A model the exporter cannot write (an unknown layer, uninitialized weights)."""


def _array(v, dtype=numpy.float32):
    """Parameter, Variable or (CuPy) array -> NumPy array in ``dtype``."""
    a = v.array if isinstance(v, chainer.Variable) else v
    if a is None:
        raise ExportError('a parameter of the model is not initialized')
    return numpy.asarray(backend.CpuDevice().send(a), dtype=dtype)


class Graph(object):
    """Nodes and initializers of an ONNX graph under construction, with unique names."""

    def __init__(self, reserved=()):
        """``reserved``: names only :meth:`name_output` may give (inputs and outputs)."""
        from onnx import helper, numpy_helper
        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes = []
        self.initializers = []
        self._used = set(reserved)

    def unique(self, name):
        out, k = name, 1
        while out in self._used:
            k += 1
            out = '%s_%d' % (name, k)
        self._used.add(out)
        return out

    def const(self, name, array):
        """An initializer holding ``array``; returns its name."""
        name = self.unique(name)
        self.initializers.append(
            self._numpy_helper.from_array(numpy.ascontiguousarray(array), name))
        return name

    def ints(self, name, values):
        return self.const(name, numpy.asarray(values, numpy.int64))

    def op(self, op_type, inputs, name, **attrs):
        """Add one node with one output, named ``name`` (made unique); returns it."""
        out = self.unique(name)
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [out], name=out,
                                                 **attrs))
        return out

    def name_output(self, x, name):
        """Tensor ``x`` under the reserved graph-output name ``name`` (``Identity``)."""
        self.nodes.append(self._helper.make_node('Identity', [x], [name], name=name))
        return name

    def reshape(self, x, shape, name):
        return self.op('Reshape', [x, self.ints(name + '/shape', shape)], name)

    def transpose(self, x, perm, name):
        return self.op('Transpose', [x], name, perm=list(perm))


# ---------------------------------------------------------------------- layers
def conv(g, link, x, path):
    """``L.Convolution2D`` (and ``Conv2D``) -> ``Conv``."""
    if link.W.array is None:
        raise ExportError('%s: the convolution has no weights yet' % path)
    W = _array(link.W)
    inputs = [x, g.const(path + '/W', W)]
    if link.b is not None:
        inputs.append(g.const(path + '/b', _array(link.b)))
    (sh, sw), (ph, pw), (dh, dw) = link.stride, link.pad, link.dilate
    return g.op('Conv', inputs, path, kernel_shape=list(W.shape[2:]), strides=[sh, sw],
                pads=[ph, pw, ph, pw], dilations=[dh, dw], group=int(link.groups))


def batch_norm(g, link, x, path, relu=False):
    """``L.BatchNormalization`` over the channel axis of NCHW, test mode (its
    ``avg_mean`` / ``avg_var``) -> ``BatchNormalization`` (then ``Relu``)."""
    if link.axis not in (None, (0, 2, 3)):
        raise ExportError('%s: batch normalization over axes %s' % (path, link.axis))
    mean = _array(link.avg_mean)
    gamma, beta = getattr(link, 'gamma', None), getattr(link, 'beta', None)
    inputs = [x,
              g.const(path + '/gamma', _array(gamma) if gamma is not None else
                      numpy.ones_like(mean)),
              g.const(path + '/beta', _array(beta) if beta is not None else
                      numpy.zeros_like(mean)),
              g.const(path + '/avg_mean', mean),
              g.const(path + '/avg_var', _array(link.avg_var))]
    y = g.op('BatchNormalization', inputs, path, epsilon=float(link.eps))
    return g.op('Relu', [y], path + '/relu') if relu else y


def conv_bn(g, conv_link, bn_link, x, conv_path, bn_path, relu=False):
    return batch_norm(g, bn_link, conv(g, conv_link, x, conv_path), bn_path, relu)


def linear(g, link, x, path):
    """``L.Linear`` on the last axis of ``x (..., in)`` -> ``MatMul`` (+ ``Add``)."""
    y = g.op('MatMul', [x, g.const(path + '/W_T', _array(link.W).T)], path + '/matmul')
    if link.b is not None:
        y = g.op('Add', [y, g.const(path + '/b', _array(link.b))], path)
    return y


def _lstm_blocks(w, units):
    """Rows ``(4 * units, ...)`` in Chainer's order (unit-major, gates a, i, f, o
    interleaved) -> ONNX's gate blocks i, o, f, c."""
    w = w.reshape((units, 4) + w.shape[1:])
    return numpy.concatenate([w[:, k] for k in LSTM_GATES], axis=0)


def lstm(g, link, xs, path, reverse=False):
    """``L.LSTM`` run from a zero state over ``xs (T, M, in)`` -> hidden outputs
    ``(T, M, units)`` (``ONNX LSTM``; ``reverse``: from the last step to the first, the
    outputs kept in step order)."""
    units = link.state_size
    W = _lstm_blocks(_array(link.upward.W), units)
    R = _lstm_blocks(_array(link.lateral.W), units)
    b_in = _lstm_blocks(_array(link.upward.b), units) if link.upward.b is not None \
        else numpy.zeros(4 * units, numpy.float32)
    b_rec = _lstm_blocks(_array(link.lateral.b), units) if link.lateral.b is not None \
        else numpy.zeros(4 * units, numpy.float32)
    y = g.op('LSTM', [xs, g.const(path + '/W', W[None]), g.const(path + '/R', R[None]),
                      g.const(path + '/B', numpy.concatenate([b_in, b_rec])[None])],
             path, hidden_size=units, direction='reverse' if reverse else 'forward')
    return g.op('Squeeze', [y, g.ints(path + '/axes', [1])], path + '/squeeze')


def repeat(g, x, steps, path):
    """``x (M, F)`` -> ``(steps, M, F)``: the same input at every step of an LSTM."""
    x = g.op('Unsqueeze', [x, g.ints(path + '/axes', [0])], path + '/unsqueeze')
    return g.op('Expand', [x, g.ints(path + '/shape', [steps, 1, 1])], path)


def max_pool(g, x, path, ksize, stride, pad=0, cover_all=True):
    """``F.max_pooling_2d``: Chainer's ``cover_all`` is ONNX's ``ceil_mode`` (both add
    one window when the last one would not fit; padding never wins a maximum)."""
    return g.op('MaxPool', [x], path, kernel_shape=[ksize, ksize], strides=[stride, stride],
                pads=[pad] * 4, ceil_mode=int(bool(cover_all)))


def average_pool(g, x, path, ksize, stride, pad=0):
    """``F.average_pooling_2d`` (padding counts in the mean, as in Chainer)."""
    return g.op('AveragePool', [x], path, kernel_shape=[ksize, ksize],
                strides=[stride, stride], pads=[pad] * 4, count_include_pad=1)


def global_average_pool(g, x, path):
    """Mean over the spatial axes, kept as ``(M, C, 1, 1)``."""
    return g.op('GlobalAveragePool', [x], path)


def residual_block(g, block, x, path):
    """``chainer_see.links.ResidualBlock``: conv-BN-ReLU-conv-BN, plus the projection,
    the identity or (published ``'code'`` shortcut) nothing, then ReLU."""
    h = conv_bn(g, block.conv0, block.bn0, x, path + '/conv0', path + '/bn0', relu=True)
    h = conv_bn(g, block.conv1, block.bn1, h, path + '/conv1', path + '/bn1')
    if block.projection:
        s = conv_bn(g, block.conv2, block.bn2, x, path + '/conv2', path + '/bn2')
        h = g.op('Add', [h, s], path + '/add')
    elif block.shortcut == 'identity':
        h = g.op('Add', [h, x], path + '/add')
    return g.op('Relu', [h], path + '/relu')


def bottleneck_a(g, block, x, path):
    """Chainer's ``resnet.BottleneckA``: 1x1-3x3-1x1 convolutions (BN, ReLU) plus a
    projected shortcut (``conv4``/``bn4``), ReLU; the strides are the links' own."""
    h = conv_bn(g, block.conv1, block.bn1, x, path + '/conv1', path + '/bn1', relu=True)
    h = conv_bn(g, block.conv2, block.bn2, h, path + '/conv2', path + '/bn2', relu=True)
    h = conv_bn(g, block.conv3, block.bn3, h, path + '/conv3', path + '/bn3')
    s = conv_bn(g, block.conv4, block.bn4, x, path + '/conv4', path + '/bn4')
    return g.op('Relu', [g.op('Add', [h, s], path + '/add')], path + '/relu')


def bottleneck_b(g, block, x, path):
    """Chainer's ``resnet.BottleneckB``: as ``BottleneckA`` with the identity shortcut."""
    h = conv_bn(g, block.conv1, block.bn1, x, path + '/conv1', path + '/bn1', relu=True)
    h = conv_bn(g, block.conv2, block.bn2, h, path + '/conv2', path + '/bn2', relu=True)
    h = conv_bn(g, block.conv3, block.bn3, h, path + '/conv3', path + '/bn3')
    return g.op('Relu', [g.op('Add', [h, x], path + '/add')], path + '/relu')


def building_block(g, block, x, path):
    """Chainer's ``resnet.BuildingBlock``: its bottlenecks ``a``, ``b1``, ... in order."""
    from chainer.links.model.vision import resnet
    for name in block._forward:
        link = getattr(block, name)
        if isinstance(link, resnet.BottleneckA):
            x = bottleneck_a(g, link, x, path + '/' + name)
        elif isinstance(link, resnet.BottleneckB):
            x = bottleneck_b(g, link, x, path + '/' + name)
        else:
            raise ExportError('%s/%s: no exporter for %s' % (path, name, type(link).__name__))
    return x

"""Max and average pooling of NumPy arrays by strided slices (no im2col).

Chainer's CPU pooling builds the im2col array ``(B, C, kh, kw, Ho, Wo)`` and reduces it;
for the 2x2 stride-2 pools of SEE that costs more than the convolutions around them.
Here a ``kh x kw`` pool is ``kh*kw`` elementwise passes over strided views of the
(padded) input, and its backward ``kh*kw`` strided writes (plain stores when the windows
do not overlap).

Semantics are those of ``F.max_pooling_2d`` (``cover_all`` honoured, padding with
``-inf``; the gradient goes to the first maximal element of a window in row-major
order, as Chainer's argmax) and ``F.average_pooling_2d`` (zero padding counted in the
``1 / (kh*kw)`` factor, ``cover_all=False``).  CuPy inputs go to Chainer's functions
(cuDNN).  Double backpropagation is not supported on the NumPy path.
"""
import numpy

import chainer.functions as F
from chainer import backend
from chainer import function_node


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _out_size(n, k, s, p, cover_all):
    if cover_all:
        return (n + 2 * p - k + s - 1) // s + 1
    return (n + 2 * p - k) // s + 1


def _padded(x, ph, pw, Hp, Wp, fill):
    B, C, H, W = x.shape
    if ph == 0 and pw == 0 and Hp <= H and Wp <= W:
        return x
    out = numpy.full((B, C, max(Hp, H + ph), max(Wp, W + pw)), fill, dtype=x.dtype)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


def _window(a, i, j, sy, sx, Ho, Wo):
    return a[:, :, i:i + sy * (Ho - 1) + 1:sy, j:j + sx * (Wo - 1) + 1:sx]


class _Pool(function_node.FunctionNode):

    def __init__(self, ksize, stride, pad, cover_all):
        self.k = _pair(ksize)
        self.s = _pair(ksize if stride is None else stride)
        self.p = _pair(pad)
        self.cover_all = cover_all

    def _geometry(self, shape):
        H, W = shape[2:]
        (kh, kw), (sy, sx), (ph, pw) = self.k, self.s, self.p
        Ho = _out_size(H, kh, sy, ph, self.cover_all)
        Wo = _out_size(W, kw, sx, pw, self.cover_all)
        if Ho <= 0 or Wo <= 0:
            raise ValueError('pooling output would be empty: input %dx%d, window %dx%d'
                             % (H, W, kh, kw))
        Hp = sy * (Ho - 1) + kh
        Wp = sx * (Wo - 1) + kw
        return Ho, Wo, Hp, Wp

    def forward_gpu(self, inputs):
        raise RuntimeError('CPU pooling got CuPy arrays; use the dispatching functions')

    def _scatter(self, parts, in_shape, dtype):
        """Sum ``parts(i*kw + j)`` (each (B, C, Ho, Wo)) back into an input-shaped array."""
        B, C, H, W = in_shape
        (kh, kw), (sy, sx), (ph, pw) = self.k, self.s, self.p
        Ho, Wo, Hp, Wp = self._geometry(in_shape)
        if (kh, kw) == (sy, sx) and ph == 0 and pw == 0:
            # windows tile the input: write whole rows, each window row interleaved once
            g6 = numpy.empty((B, C, Ho, kh, Wo, kw), dtype=dtype)
            for i in range(kh):
                numpy.stack([parts(i * kw + j) for j in range(kw)], axis=-1, out=g6[:, :, :, i])
            gxp = g6.reshape(B, C, Hp, Wp)
            if (Hp, Wp) == (H, W):
                return gxp
            gx = numpy.zeros(in_shape, dtype=dtype)
            h, w = min(H, Hp), min(W, Wp)
            gx[:, :, :h, :w] = gxp[:, :, :h, :w]
            return gx
        gxp = numpy.zeros((B, C, max(Hp, H + ph), max(Wp, W + pw)), dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                _window(gxp, i, j, sy, sx, Ho, Wo)[...] += parts(i * kw + j)
        return numpy.ascontiguousarray(gxp[:, :, ph:ph + H, pw:pw + W])


class MaxPooling2DCPU(_Pool):
    """Max pooling of NumPy arrays, as ``F.max_pooling_2d``."""

    def forward_cpu(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        (kh, kw), (sy, sx), (ph, pw) = self.k, self.s, self.p
        Ho, Wo, Hp, Wp = self._geometry(x.shape)
        xp = _padded(x, ph, pw, Hp, Wp, -numpy.inf)
        y = numpy.array(_window(xp, 0, 0, sy, sx, Ho, Wo))
        idx = numpy.zeros(y.shape, dtype=numpy.uint8)
        upd = numpy.empty(y.shape, dtype=bool)
        for n in range(1, kh * kw):
            w = _window(xp, n // kw, n % kw, sy, sx, Ho, Wo)
            numpy.greater(w, y, out=upd)   # strict: the first maximum keeps its index
            numpy.maximum(y, w, out=y)
            idx = numpy.where(upd, numpy.uint8(n), idx)
        self._idx = idx
        return y,

    def backward(self, indexes, grad_outputs):
        return _MaxPoolingGrad(self).apply(grad_outputs)


class _MaxPoolingGrad(function_node.FunctionNode):

    def __init__(self, pool):
        self.pool = pool

    def forward_cpu(self, inputs):
        gy, = inputs
        idx = self.pool._idx
        zero = gy.dtype.type(0)
        gx = self.pool._scatter(lambda n: numpy.where(idx == n, gy, zero),
                                self.pool._in_shape, gy.dtype)
        return gx,

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError('double backpropagation through chainer_see CPU pooling '
                                  'is not supported')


class AveragePooling2DCPU(_Pool):
    """Average pooling of NumPy arrays, as ``F.average_pooling_2d``."""

    def __init__(self, ksize, stride, pad):
        super(AveragePooling2DCPU, self).__init__(ksize, stride, pad, False)

    def forward_cpu(self, inputs):
        x, = inputs
        self._in_shape = x.shape
        (kh, kw), (sy, sx), (ph, pw) = self.k, self.s, self.p
        Ho, Wo, Hp, Wp = self._geometry(x.shape)
        xp = _padded(x, ph, pw, Hp, Wp, 0)
        y = numpy.array(_window(xp, 0, 0, sy, sx, Ho, Wo))
        for n in range(1, kh * kw):
            y += _window(xp, n // kw, n % kw, sy, sx, Ho, Wo)
        y *= x.dtype.type(1.0 / (kh * kw))
        return y,

    def backward(self, indexes, grad_outputs):
        return _AveragePoolingGrad(self).apply(grad_outputs)


class _AveragePoolingGrad(function_node.FunctionNode):

    def __init__(self, pool):
        self.pool = pool

    def forward_cpu(self, inputs):
        gy, = inputs
        kh, kw = self.pool.k
        g = gy * gy.dtype.type(1.0 / (kh * kw))
        return self.pool._scatter(lambda n: g, self.pool._in_shape, gy.dtype),

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError('double backpropagation through chainer_see CPU pooling '
                                  'is not supported')


def max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True):
    """As ``F.max_pooling_2d``; strided-slice implementation on NumPy arrays."""
    if backend.get_array_module(x) is not numpy:
        return F.max_pooling_2d(x, ksize, stride=stride, pad=pad, cover_all=cover_all)
    y, = MaxPooling2DCPU(ksize, stride, pad, cover_all).apply((x,))
    return y


def average_pooling_2d(x, ksize, stride=None, pad=0):
    """As ``F.average_pooling_2d``; strided-slice implementation on NumPy arrays."""
    if backend.get_array_module(x) is not numpy:
        return F.average_pooling_2d(x, ksize, stride=stride, pad=pad)
    y, = AveragePooling2DCPU(ksize, stride, pad).apply((x,))
    return y

"""2-D convolution for NumPy arrays, in GEMM-friendly layouts.

Chainer's CPU ``convolution_2d`` builds the column array ``(B, C, kh, kw, Ho, Wo)`` and
then calls ``numpy.tensordot``, which copies (transposes) the columns once more and
returns ``(B, Ho, Wo, Cout)`` that is rolled back to NCHW as a strided view; its
backward does the same twice.  Here:

* forward: one strided copy of the (padded) input into columns ``(B, C*kh*kw, Ho*Wo)``
  (``as_strided`` view + reshape), then one batched ``numpy.matmul`` with the weight
  matrix ``(Cout, C*kh*kw)``: the result is already NCHW and contiguous;
* backward: ``gW`` by a batched ``matmul`` with the transposed columns (a BLAS
  transpose flag, no copy); ``gx`` of a stride-1 convolution is the convolution of the
  output gradient with the flipped, transposed kernel (same code path as the forward);
  other strides use ``W^T gy`` and a col2im of ``kh*kw`` strided adds.

Same semantics as ``F.convolution_2d`` with ``cover_all=False``, ``dilate=1``,
``groups=1``.  ``conv2d`` dispatches: NumPy inputs use this FunctionNode, CuPy inputs
use ``F.convolution_2d`` (cuDNN).  Double backpropagation is not supported on the
NumPy path (the gradient is computed by a node that refuses to be differentiated).
"""
import numpy
from numpy.lib.stride_tricks import as_strided

import chainer.functions as F
from chainer import backend
from chainer import function_node
from chainer.utils import type_check


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _pad(x, ph, pw):
    if ph == 0 and pw == 0:
        return x
    B, C, H, W = x.shape
    out = numpy.empty((B, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    if ph:
        out[:, :, :ph] = 0
        out[:, :, H + ph:] = 0
    if pw:
        out[:, :, ph:H + ph, :pw] = 0
        out[:, :, ph:H + ph, W + pw:] = 0
    out[:, :, ph:H + ph, pw:W + pw] = x
    return out


# Outputs with at most this many pixels per image use one GEMM for the whole batch
# (columns ``(C*kh*kw, B*Ho*Wo)``, output transposed back to NCHW); larger ones one GEMM
# per image (columns ``(B, C*kh*kw, Ho*Wo)``, output NCHW as it comes).  Measured on the
# SEE layer shapes: the single GEMM wins clearly below ~25x25, loses slightly at 32x32.
SINGLE_GEMM_MAX_PIXELS = 700


def _out_hw(shape, kh, kw, sy, sx, ph, pw):
    H, W = shape[2:]
    Ho = (H + 2 * ph - kh) // sy + 1
    Wo = (W + 2 * pw - kw) // sx + 1
    if Ho <= 0 or Wo <= 0:
        raise ValueError('convolution output would be empty: input %dx%d, kernel %dx%d, '
                         'stride %s, pad %s' % (H, W, kh, kw, (sy, sx), (ph, pw)))
    return Ho, Wo


def _columns(x, kh, kw, sy, sx, ph, pw, single):
    """Columns of x (B, C, H, W), one strided copy at most.

    ``single=False``: ``(B, C*kh*kw, Ho*Wo)``; ``single=True``: ``(C*kh*kw, B*Ho*Wo)``.
    """
    B, C = x.shape[:2]
    Ho, Wo = _out_hw(x.shape, kh, kw, sy, sx, ph, pw)
    if kh == 1 and kw == 1 and ph == 0 and pw == 0 and not single:
        if sy == 1 and sx == 1:
            return numpy.ascontiguousarray(x).reshape(B, C, Ho * Wo)
        return numpy.ascontiguousarray(x[:, :, ::sy, ::sx][:, :, :Ho, :Wo]).reshape(
            B, C, Ho * Wo)
    xp = _pad(x, ph, pw)
    sb, sc, sh, sw = xp.strides
    if single:
        view = as_strided(xp, (C, kh, kw, B, Ho, Wo), (sc, sh, sw, sb, sh * sy, sw * sx),
                          writeable=False)
        return view.reshape(C * kh * kw, B * Ho * Wo)
    view = as_strided(xp, (B, C, kh, kw, Ho, Wo), (sb, sc, sh, sw, sh * sy, sw * sx),
                      writeable=False)
    return view.reshape(B, C * kh * kw, Ho * Wo)


def _forward(x, W, b, stride, pad):
    """The forward computation on arrays; returns ``(y, columns, single)``."""
    Cout, C, kh, kw = W.shape
    (sy, sx), (ph, pw) = stride, pad
    B = x.shape[0]
    Ho, Wo = _out_hw(x.shape, kh, kw, sy, sx, ph, pw)
    single = Ho * Wo <= SINGLE_GEMM_MAX_PIXELS and B > 1
    col = _columns(x, kh, kw, sy, sx, ph, pw, single)
    W2 = W.reshape(Cout, C * kh * kw)
    if single:
        y2 = numpy.dot(W2, col)
        if b is not None:
            y2 += b.reshape(Cout, 1)
        y = numpy.ascontiguousarray(y2.reshape(Cout, B, Ho, Wo).transpose(1, 0, 2, 3))
    else:
        y = numpy.matmul(W2, col)
        if b is not None:
            y += b.reshape(1, Cout, 1)
        y = y.reshape(B, Cout, Ho, Wo)
    return y, col, single


class Conv2DCPU(function_node.FunctionNode):
    """NCHW convolution of NumPy arrays (see the module docstring)."""

    def __init__(self, stride=1, pad=0):
        self.stride = _pair(stride)
        self.pad = _pair(pad)

    def check_type_forward(self, in_types):
        n_in = in_types.size()
        type_check.expect(2 <= n_in, n_in <= 3)
        x_type, w_type = in_types[:2]
        type_check.expect(
            x_type.dtype.kind == 'f',
            w_type.dtype == x_type.dtype,
            x_type.ndim == 4,
            w_type.ndim == 4,
            x_type.shape[1] == w_type.shape[1],
        )
        if type_check.eval(n_in) == 3:
            b_type = in_types[2]
            type_check.expect(b_type.dtype == x_type.dtype, b_type.ndim == 1,
                              b_type.shape[0] == w_type.shape[0])

    def forward_cpu(self, inputs):
        x, W = inputs[:2]
        b = inputs[2] if len(inputs) == 3 else None
        self._in_shape = x.shape
        self.retain_inputs((1,))
        y, self._col, self._single = _forward(x, W, b, self.stride, self.pad)
        return y,

    def forward_gpu(self, inputs):
        raise RuntimeError('Conv2DCPU got CuPy arrays; use chainer_see.functions.conv2d, '
                           'which dispatches CuPy inputs to F.convolution_2d')

    def backward(self, indexes, grad_outputs):
        W, = self.get_retained_inputs()
        gy, = grad_outputs
        grads = Conv2DCPUGrad(self, indexes).apply((W, gy))
        self._col = None
        return grads


class Conv2DCPUGrad(function_node.FunctionNode):
    """Gradients of Conv2DCPU with respect to the requested inputs (first order only)."""

    def __init__(self, conv, indexes):
        self.conv = conv
        self.indexes = tuple(indexes)

    def forward_cpu(self, inputs):
        W, gy = inputs
        conv = self.conv
        B, Cout, Ho, Wo = gy.shape
        single = conv._single
        if single:   # (Cout, B*Ho*Wo), the layout of the columns (K, B*Ho*Wo)
            gy2 = numpy.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(Cout, -1)
        else:
            gy2 = numpy.ascontiguousarray(gy).reshape(B, Cout, Ho * Wo)
        out = []
        for i in self.indexes:
            if i == 0:
                out.append(self._grad_x(W, gy, gy2, single))
            elif i == 1:
                col = conv._col
                if single:
                    gW = numpy.dot(gy2, col.T)
                else:
                    gW = numpy.matmul(gy2, col.transpose(0, 2, 1)).sum(axis=0)
                out.append(gW.reshape(W.shape).astype(W.dtype, copy=False))
            else:
                axes = 1 if single else (0, 2)
                out.append(gy2.sum(axis=axes).astype(W.dtype, copy=False))
        return tuple(out)

    def _grad_x(self, W, gy, gy2, single):
        conv = self.conv
        B, Cout, Ho, Wo = gy.shape
        _, C, kh, kw = W.shape
        (sy, sx), (ph, pw) = conv.stride, conv.pad
        H, Wd = conv._in_shape[2:]
        if sy == 1 and sx == 1 and ph <= kh - 1 and pw <= kw - 1:
            # stride 1: gx = gy (*) W flipped, with in/out channels swapped
            Wf = numpy.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
            gx, _, _ = _forward(gy, Wf, None, (1, 1), (kh - 1 - ph, kw - 1 - pw))
            return gx
        W2t = W.reshape(Cout, -1).T
        if single:   # (C, kh, kw, B, Ho, Wo) -> (B, C, kh, kw, Ho, Wo) view
            gcol = numpy.dot(W2t, gy2).reshape(C, kh, kw, B, Ho, Wo).transpose(3, 0, 1, 2, 4, 5)
        else:
            gcol = numpy.matmul(W2t, gy2).reshape(B, C, kh, kw, Ho, Wo)
        Hp, Wp = H + 2 * ph, Wd + 2 * pw
        gxp = numpy.zeros((B, C, Hp, Wp), dtype=W.dtype)
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + sy * (Ho - 1) + 1:sy, j:j + sx * (Wo - 1) + 1:sx] += gcol[:, :, i, j]
        if ph or pw:
            gxp = numpy.ascontiguousarray(gxp[:, :, ph:ph + H, pw:pw + Wd])
        return gxp

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError('double backpropagation through the CPU convolution of '
                                  'chainer_see is not supported; use F.convolution_2d')


def conv2d(x, W, b=None, stride=1, pad=0):
    """Convolution like ``F.convolution_2d(x, W, b, stride, pad)``; fast on NumPy arrays.

    Args:
        x: ``(B, C, H, W)`` input (Variable or array).
        W: ``(Cout, C, kh, kw)`` filters.
        b: ``(Cout,)`` bias or ``None``.
        stride, pad: int or pair.
    Returns:
        Variable ``(B, Cout, Ho, Wo)``, ``Ho = (H + 2 pad - kh) // stride + 1``.
    """
    xp = backend.get_array_module(x)
    if xp is not numpy:
        return F.convolution_2d(x, W, b, stride=stride, pad=pad)
    inputs = (x, W) if b is None else (x, W, b)
    y, = Conv2DCPU(stride, pad).apply(inputs)
    return y

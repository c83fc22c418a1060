"""2-D convolution for NumPy arrays, in GEMM-friendly layouts.

Chainer's CPU ``convolution_2d`` builds the column array ``(B, C, kh, kw, Ho, Wo)`` for
the whole batch, then calls ``numpy.tensordot``, which copies (transposes) the columns
once more and returns ``(B, Ho, Wo, Cout)`` rolled back to NCHW as a strided view; its
backward does the same twice and ends with a col2im.  Here:

* forward: for a chunk of images at a time, one strided copy of the (padded) input
  into columns (``as_strided`` view copied into a reused scratch buffer), then GEMM with
  the weight matrix ``(Cout, C*kh*kw)``: one GEMM per image for large outputs (columns
  ``(n, K, Ho*Wo)``, the result is NCHW as it comes), or one GEMM for the whole chunk
  for small outputs (columns ``(K, n*Ho*Wo)``, the result transposed to NCHW);
* backward: ``gW`` by GEMMs with the transposed columns (rebuilt chunk by chunk rather
  than kept: cheaper than allocating the full-batch columns); ``gx`` of a stride-1
  convolution is the convolution of the output gradient with the flipped, transposed
  kernel (the forward code path); other strides use ``W^T gy`` and a col2im of
  ``kh*kw`` strided adds.

Same semantics as ``F.convolution_2d`` with ``cover_all=False``, ``dilate=1``,
``groups=1``.  ``conv2d`` dispatches: NumPy inputs use this FunctionNode, CuPy inputs
use ``F.convolution_2d`` (cuDNN).  Double backpropagation is not supported on the
NumPy path (the gradient is computed by a node that refuses to be differentiated).
The scratch buffers are per thread and kept between calls (``release_workspace()``).
"""
import numpy
from numpy.lib.stride_tricks import as_strided

import chainer.functions as F
from chainer import backend
from chainer import function_node
from chainer.utils import type_check

from chainer_see.functions._scratch import ScratchPool


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


# Columns are built for a chunk of images at a time into a reused per-thread buffer of
# about this many bytes (and rebuilt in the backward pass instead of being kept): the
# full-batch column array of a 100x100 layer is hundreds of MB, and allocating it fresh
# every step costs more in page faults than rebuilding it costs in copies.
COL_CHUNK_BYTES = 16 << 20
# Outputs with at most this many pixels per image use one GEMM for a whole chunk
# (columns ``(C*kh*kw, n*Ho*Wo)``, output transposed back to NCHW); larger ones one GEMM
# per image (columns ``(n, C*kh*kw, Ho*Wo)``, output NCHW as it comes).  Measured on the
# SEE layer shapes: the single GEMM wins clearly below ~25x25, loses slightly at 32x32.
SINGLE_GEMM_MAX_PIXELS = 700


_workspace = ScratchPool()
_buffer = _workspace.get


def release_workspace():
    """Free this thread's scratch buffers (they are kept between calls otherwise)."""
    _workspace.release()


class _Plan(object):
    """Geometry of one convolution and how it is split into chunks of images."""

    def __init__(self, x_shape, w_shape, stride, pad, itemsize):
        self.B, self.C, self.H, self.W = x_shape
        self.Cout, _, self.kh, self.kw = w_shape
        (self.sy, self.sx), (self.ph, self.pw) = stride, pad
        self.Ho = (self.H + 2 * self.ph - self.kh) // self.sy + 1
        self.Wo = (self.W + 2 * self.pw - self.kw) // self.sx + 1
        if self.Ho <= 0 or self.Wo <= 0:
            raise ValueError('convolution output would be empty: input %dx%d, kernel %dx%d, '
                             'stride %s, pad %s' % (self.H, self.W, self.kh, self.kw,
                                                    stride, pad))
        self.K = self.C * self.kh * self.kw
        self.HW = self.Ho * self.Wo
        self.single = self.HW <= SINGLE_GEMM_MAX_PIXELS and self.B > 1
        self.pointwise = (self.kh == 1 and self.kw == 1 and self.ph == 0 and self.pw == 0
                          and self.sy == 1 and self.sx == 1)
        per_image = self.K * self.HW * itemsize
        self.chunk = max(1, min(self.B, COL_CHUNK_BYTES // max(per_image, 1)))

    def chunks(self):
        for b0 in range(0, self.B, self.chunk):
            yield b0, min(self.B, b0 + self.chunk)


def _columns(x, p, b0, b1):
    """Columns of images ``b0:b1`` of x: ``(n, K, Ho*Wo)``, or ``(K, n*Ho*Wo)`` if single.

    May return a view of x (1x1 convolutions) or of a scratch buffer.
    """
    n = b1 - b0
    xs = x[b0:b1]
    if p.pointwise and not p.single:
        return xs.reshape(n, p.C, p.HW)
    if p.ph or p.pw:
        Hp, Wp = p.H + 2 * p.ph, p.W + 2 * p.pw
        xp = _buffer('pad', (n, p.C, Hp, Wp), x.dtype)
        if p.ph:
            xp[:, :, :p.ph] = 0
            xp[:, :, p.H + p.ph:] = 0
        if p.pw:
            xp[:, :, p.ph:p.H + p.ph, :p.pw] = 0
            xp[:, :, p.ph:p.H + p.ph, p.W + p.pw:] = 0
        xp[:, :, p.ph:p.H + p.ph, p.pw:p.W + p.pw] = xs
    else:
        xp = xs
    sb, sc, sh, sw = xp.strides
    if p.single:
        shape = (p.C, p.kh, p.kw, n, p.Ho, p.Wo)
        strides = (sc, sh, sw, sb, sh * p.sy, sw * p.sx)
        flat = (p.K, n * p.HW)
    else:
        shape = (n, p.C, p.kh, p.kw, p.Ho, p.Wo)
        strides = (sb, sc, sh, sw, sh * p.sy, sw * p.sx)
        flat = (n, p.K, p.HW)
    col = _buffer('col', shape, x.dtype)
    numpy.copyto(col, as_strided(xp, shape, strides, writeable=False))
    return col.reshape(flat)


def _forward(x, W, b, stride, pad):
    """Convolution of arrays: ``x (B, C, H, W)``, ``W (Cout, C, kh, kw)`` -> y (B, Cout, Ho, Wo)."""
    x = numpy.ascontiguousarray(x)
    p = _Plan(x.shape, W.shape, stride, pad, x.dtype.itemsize)
    W2 = W.reshape(p.Cout, p.K)
    y = numpy.empty((p.B, p.Cout, p.Ho, p.Wo), dtype=x.dtype)
    for b0, b1 in p.chunks():
        col = _columns(x, p, b0, b1)
        if p.single:
            y2 = numpy.dot(W2, col).reshape(p.Cout, b1 - b0, p.Ho, p.Wo)
            y[b0:b1] = y2.transpose(1, 0, 2, 3)
        else:
            numpy.matmul(W2, col, out=y[b0:b1].reshape(b1 - b0, p.Cout, p.HW))
    if b is not None:
        y += b.reshape(1, p.Cout, 1, 1)
    return y


def _grad_W(x, gy, W, stride, pad):
    p = _Plan(x.shape, W.shape, stride, pad, x.dtype.itemsize)
    gW = numpy.zeros((p.Cout, p.K), dtype=W.dtype)
    for b0, b1 in p.chunks():
        col = _columns(x, p, b0, b1)
        g = gy[b0:b1]
        if p.single:
            g2 = numpy.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(p.Cout, -1)
            gW += numpy.dot(g2, col.T)
        else:
            gW += numpy.matmul(g.reshape(b1 - b0, p.Cout, p.HW), col.transpose(0, 2, 1)).sum(0)
    return gW.reshape(W.shape)


def _grad_x(gy, W, x_shape, stride, pad):
    Cout, C, kh, kw = W.shape
    (sy, sx), (ph, pw) = stride, pad
    if sy == 1 and sx == 1 and ph <= kh - 1 and pw <= kw - 1:
        # stride 1: gx = gy (*) W flipped, with in/out channels swapped
        Wf = numpy.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        return _forward(gy, Wf, None, (1, 1), (kh - 1 - ph, kw - 1 - pw))
    p = _Plan(x_shape, W.shape, stride, pad, gy.dtype.itemsize)
    W2t = W.reshape(Cout, p.K).T
    gx = numpy.empty(x_shape, dtype=gy.dtype)
    Hp, Wp = p.H + 2 * ph, p.W + 2 * pw
    for b0, b1 in p.chunks():
        n = b1 - b0
        g = gy[b0:b1].reshape(n, Cout, p.HW)
        gcol = numpy.matmul(W2t, g).reshape(n, C, kh, kw, p.Ho, p.Wo)
        gxp = _buffer('gpad', (n, C, Hp, Wp), gy.dtype)
        gxp[...] = 0
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + sy * (p.Ho - 1) + 1:sy, j:j + sx * (p.Wo - 1) + 1:sx] += \
                    gcol[:, :, i, j]
        gx[b0:b1] = gxp[:, :, ph:ph + p.H, pw:pw + p.W]
    return gx


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
        self.retain_inputs((0, 1))
        return _forward(x, W, b, self.stride, self.pad),

    def forward_gpu(self, inputs):
        raise RuntimeError('Conv2DCPU got CuPy arrays; use chainer_see.functions.conv2d, '
                           'which dispatches CuPy inputs to F.convolution_2d')

    def backward(self, indexes, grad_outputs):
        x, W = self.get_retained_inputs()
        gy, = grad_outputs
        return Conv2DCPUGrad(self.stride, self.pad, indexes).apply((x, W, gy))


class Conv2DCPUGrad(function_node.FunctionNode):
    """Gradients of Conv2DCPU with respect to the requested inputs (first order only)."""

    def __init__(self, stride, pad, indexes):
        self.stride = stride
        self.pad = pad
        self.indexes = tuple(indexes)

    def forward_cpu(self, inputs):
        x, W, gy = inputs
        x = numpy.ascontiguousarray(x)
        gy = numpy.ascontiguousarray(gy)
        out = []
        for i in self.indexes:
            if i == 0:
                out.append(_grad_x(gy, W, x.shape, self.stride, self.pad))
            elif i == 1:
                out.append(_grad_W(x, gy, W, self.stride, self.pad))
            else:
                out.append(gy.sum(axis=(0, 2, 3)).astype(W.dtype, copy=False))
        return tuple(out)

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

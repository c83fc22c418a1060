"""Batch normalization (training mode) of NCHW NumPy arrays with few passes over memory.

Same results as ``F.batch_normalization(x, gamma, beta, eps, running_mean, running_var,
decay)`` for 4-D input normalized over axes (0, 2, 3), including the in-place update of
the running statistics (unbiased variance, factor ``m / (m - 1)``).  Statistics and
channel sums are reductions over the contiguous last axis of a ``(B, C, H*W)`` view,
the centred squares by ``einsum`` without a temporary, and the backward uses the usual
closed form.  A ReLU can be fused into the node (``relu=True``).  CuPy inputs go to
Chainer's function (cuDNN).  Double backpropagation is not supported on the NumPy path.
"""
import numpy

import chainer.functions as F
from chainer import backend
from chainer import function_node


def _channel_sum(a3):
    """(B, C, M) -> (C,): pairwise sums along the contiguous last axis, then over B."""
    return a3.sum(axis=2).sum(axis=0)


class BatchNorm2DCPU(function_node.FunctionNode):
    """Training-mode batch normalization of NumPy (B, C, H, W) arrays."""

    def __init__(self, eps, running_mean=None, running_var=None, decay=0.9, relu=False):
        self.relu = relu
        self.eps = eps
        self.running_mean = running_mean
        self.running_var = running_var
        self.decay = decay

    def forward_cpu(self, inputs):
        x, gamma, beta = inputs
        B, C = x.shape[:2]
        x3 = numpy.ascontiguousarray(x).reshape(B, C, -1)
        m = x3.shape[0] * x3.shape[2]
        mean = _channel_sum(x3) / x.dtype.type(m)
        xhat = x3 - mean[None, :, None]
        var = numpy.einsum('bcm,bcm->c', xhat, xhat) / x.dtype.type(m)
        inv_std = (1.0 / numpy.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        xhat *= inv_std[None, :, None]
        y = xhat * gamma[None, :, None]
        y += beta[None, :, None]
        if self.relu:
            numpy.maximum(y, 0, out=y)
            self.retain_outputs((0,))
        if self.running_mean is not None:
            adjust = m / max(m - 1., 1.)
            self.running_mean *= self.decay
            self.running_mean += (1 - self.decay) * mean
            self.running_var *= self.decay
            self.running_var += (1 - self.decay) * adjust * var
        self._xhat = xhat
        self._inv_std = inv_std
        self._m = m
        self._shape = x.shape
        self.retain_inputs((1,))
        return y.reshape(x.shape),

    def forward_gpu(self, inputs):
        raise RuntimeError('BatchNorm2DCPU got CuPy arrays; use the dispatching function')

    def backward(self, indexes, grad_outputs):
        gamma, = self.get_retained_inputs()
        gy, = grad_outputs
        if self.relu:
            y, = self.get_retained_outputs()
            return _BatchNorm2DGrad(self).apply((gamma, gy, y))
        return _BatchNorm2DGrad(self).apply((gamma, gy))


class _BatchNorm2DGrad(function_node.FunctionNode):

    def __init__(self, bn):
        self.bn = bn

    def forward_cpu(self, inputs):
        gamma, gy = inputs[:2]
        bn = self.bn
        B, C = gy.shape[:2]
        if bn.relu:
            gy = numpy.where(inputs[2] > 0, gy, gy.dtype.type(0))
        gy3 = numpy.ascontiguousarray(gy).reshape(B, C, -1)
        xhat = bn._xhat
        dt = gy.dtype.type
        gbeta = _channel_sum(gy3)
        ggamma = numpy.einsum('bcm,bcm->c', gy3, xhat)
        # gx = gamma * inv_std * (gy - (xhat * ggamma + gbeta) / m)
        gx = xhat * (-ggamma / dt(bn._m))[None, :, None]
        gx += gy3
        gx -= (gbeta / dt(bn._m))[None, :, None]
        gx *= (gamma * bn._inv_std)[None, :, None]
        bn._xhat = None
        return gx.reshape(bn._shape), ggamma.astype(gy.dtype, copy=False), \
            gbeta.astype(gy.dtype, copy=False)

    def backward(self, indexes, grad_outputs):
        raise NotImplementedError('double backpropagation through chainer_see CPU batch '
                                  'normalization is not supported')


def batch_normalization_2d(x, gamma, beta, eps=2e-5, running_mean=None, running_var=None,
                           decay=0.9, relu=False):
    """As ``F.batch_normalization`` (training mode) for ``(B, C, H, W)`` input.

    With ``relu=True`` returns ``F.relu`` of it, fused (one output array, one node).
    """
    if backend.get_array_module(x) is not numpy or x.ndim != 4:
        y = F.batch_normalization(x, gamma, beta, eps=eps, running_mean=running_mean,
                                  running_var=running_var, decay=decay)
        return F.relu(y) if relu else y
    y, = BatchNorm2DCPU(eps, running_mean, running_var, decay, relu).apply((x, gamma, beta))
    return y

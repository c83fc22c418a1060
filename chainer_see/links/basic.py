"""Convolution and batch normalization links with the fast CPU path.

``Conv2D`` and ``BatchNorm2D`` are ``L.Convolution2D`` / ``L.BatchNormalization`` with
the same parameters and persistent values (``W``, ``b``; ``gamma``, ``beta``,
``avg_mean``, ``avg_var``, ``N``), so weights saved by plain Chainer links load into
them.  On NumPy arrays they call the FunctionNodes of ``chainer_see.functions.fast_conv``
and ``fast_batch_norm``; on CuPy arrays, inside ``reference_ops()``, and for the cases
the fast path does not cover they defer to Chainer.
"""
import numpy

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import backend

from chainer_see.functions import fast_conv
from chainer_see.links import ops


class Conv2D(L.Convolution2D):
    """``L.Convolution2D(in_channels, out_channels, ksize, stride, pad)``, fast on CPU."""

    def forward(self, x):
        if (ops.using_reference_ops('conv') or backend.get_array_module(x) is not numpy
                or self.W.array is None or self.dilate != (1, 1) or self.groups != 1):
            return super(Conv2D, self).forward(x)
        return fast_conv.conv2d(x, self.W, self.b, stride=self.stride, pad=self.pad)


class BatchNorm2D(L.BatchNormalization):
    """``L.BatchNormalization(size)`` for NCHW input, fast on CPU in training mode.

    ``bn(x, relu=True)`` is ``F.relu(bn(x))``, fused into one node on the fast path.
    """

    def forward(self, x, relu=False, **kwargs):
        if (kwargs or not chainer.config.train or ops.using_reference_ops('batch_norm')
                or chainer.config.in_recomputing or x.ndim != 4
                or backend.get_array_module(x) is not numpy or self.avg_mean is None
                or self.axis not in (None, (0, 2, 3))):
            y = super(BatchNorm2D, self).forward(x, **kwargs)
            return F.relu(y) if relu else y
        return ops.batch_normalization_2d(x, self.gamma, self.beta, self.eps, self.avg_mean,
                                          self.avg_var, self.decay, relu=relu)

"""Which implementation the SEE links use for their heavy operations.

By default the links use the fast CPU FunctionNodes of ``chainer_see.functions``
(convolution, pooling, batch normalization; NumPy arrays only, CuPy arrays always go to
Chainer/cuDNN), evaluate the input projection of an LSTM that reads the same feature
every step once, and sample the N regions of an image with ``multi_grid_sampler``.

Inside ``with reference_ops():`` they run the straightforward Chainer implementation of
the same network instead: ``F.convolution_2d``, ``F.max_pooling_2d``,
``F.average_pooling_2d``, ``F.batch_normalization``, ``L.LSTM`` called step by step, and
the published sampling (the image concatenated N times along the batch axis, region-major,
``F.spatial_transformer_grid`` / ``F.spatial_transformer_sampler``).  Same parameters,
same results up to float rounding; the benchmark measures one against the other.
"""
import contextlib

import chainer
import chainer.functions as F

from chainer_see.functions import fast_batch_norm
from chainer_see.functions import fast_pooling

chainer.global_config.see_reference_ops = False


@contextlib.contextmanager
def reference_ops(enabled=True):
    """Context: run the SEE links with plain Chainer functions (see module docstring)."""
    with chainer.using_config('see_reference_ops', bool(enabled)):
        yield


def using_reference_ops():
    return bool(getattr(chainer.config, 'see_reference_ops', False))


def max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True):
    if using_reference_ops():
        return F.max_pooling_2d(x, ksize, stride=stride, pad=pad, cover_all=cover_all)
    return fast_pooling.max_pooling_2d(x, ksize, stride=stride, pad=pad, cover_all=cover_all)


def average_pooling_2d(x, ksize, stride=None, pad=0):
    if using_reference_ops():
        return F.average_pooling_2d(x, ksize, stride=stride, pad=pad)
    return fast_pooling.average_pooling_2d(x, ksize, stride=stride, pad=pad)


def batch_normalization_2d(x, gamma, beta, eps, running_mean, running_var, decay, relu=False):
    if using_reference_ops():
        y = F.batch_normalization(x, gamma, beta, eps=eps, running_mean=running_mean,
                                  running_var=running_var, decay=decay)
        return F.relu(y) if relu else y
    return fast_batch_norm.batch_normalization_2d(
        x, gamma, beta, eps=eps, running_mean=running_mean, running_var=running_var,
        decay=decay, relu=relu)

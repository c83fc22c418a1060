"""Which implementation the SEE links use for their heavy operations.

By default the links use the fast CPU FunctionNodes of ``chainer_see.functions``
(convolution, pooling, batch normalization; NumPy arrays only, CuPy arrays always go to
Chainer/cuDNN) and sample the N regions of an image with ``multi_grid_sampler``.

Inside ``with reference_ops():`` they run the straightforward Chainer implementation of
the same network instead: ``F.convolution_2d``, ``F.max_pooling_2d``,
``F.average_pooling_2d``, ``F.batch_normalization``, and the published sampling (the
image concatenated N times along the batch axis, region-major,
``F.spatial_transformer_grid`` / ``F.spatial_transformer_sampler``).  Same parameters,
same results up to float rounding; the benchmark measures one against the other.

``reference_ops(only=('conv',))`` switches only the named operations (:data:`OPS`) to
their plain version, so that each one's share of the speed can be measured on its own
(``benchmarks/bench_model.py --ablation``).  Pooling and batch normalization are
measured together too: they work on the fast convolution's output, and one switched
alone pays for converting between the two (see the README's ablation table).  The
LSTM's input projection computed once for all steps was removed: alone it sped the
step up 0.85-1.14x; so was the reader's classifier applied to all steps in one product
(1.01x / 0.95x of the svhn / svhn-grid step).
"""
import contextlib

import chainer
import chainer.functions as F

from chainer_see.functions import fast_batch_norm
from chainer_see.functions import fast_pooling

chainer.global_config.see_reference_ops = False

#: the operations with a fast and a plain version: convolution, max/average pooling,
#: batch normalization and the N-region sampler
OPS = ('conv', 'pooling', 'batch_norm', 'sampler')


@contextlib.contextmanager
def reference_ops(enabled=True, only=None):
    """Context: run the SEE links with plain Chainer functions (see module docstring);
    with ``only`` (names of :data:`OPS`), just those operations."""
    if only is not None:
        unknown = sorted(set(only) - set(OPS))
        if unknown:
            raise ValueError('unknown operation(s) %s (choose from %s)'
                             % (', '.join(unknown), ', '.join(OPS)))
        value = frozenset(only) if enabled else False
    else:
        value = bool(enabled)
    with chainer.using_config('see_reference_ops', value):
        yield


def using_reference_ops(op=None):
    """True when operation ``op`` (of :data:`OPS`) runs its plain version; without ``op``:
    when every operation does."""
    value = getattr(chainer.config, 'see_reference_ops', False)
    if isinstance(value, frozenset):
        return op in value if op is not None else value == frozenset(OPS)
    return bool(value)


def max_pooling_2d(x, ksize, stride=None, pad=0, cover_all=True):
    if using_reference_ops('pooling'):
        return F.max_pooling_2d(x, ksize, stride=stride, pad=pad, cover_all=cover_all)
    return fast_pooling.max_pooling_2d(x, ksize, stride=stride, pad=pad, cover_all=cover_all)


def average_pooling_2d(x, ksize, stride=None, pad=0):
    if using_reference_ops('pooling'):
        return F.average_pooling_2d(x, ksize, stride=stride, pad=pad)
    return fast_pooling.average_pooling_2d(x, ksize, stride=stride, pad=pad)


def batch_normalization_2d(x, gamma, beta, eps, running_mean, running_var, decay, relu=False):
    if using_reference_ops('batch_norm'):
        y = F.batch_normalization(x, gamma, beta, eps=eps, running_mean=running_mean,
                                  running_var=running_var, decay=decay)
        return F.relu(y) if relu else y
    return fast_batch_norm.batch_normalization_2d(
        x, gamma, beta, eps=eps, running_mean=running_mean, running_var=running_var,
        decay=decay, relu=relu)

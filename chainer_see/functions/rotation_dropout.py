"""Rotation dropout on predicted affine matrices (SEE paper, localization network).

Drops theta2 and theta4 of ``A = [[theta1, theta2, theta3], [theta4, theta5, theta6]]``,
i.e. ``A[..., 0, 1]`` and ``A[..., 1, 0]`` (the off-diagonal, rotation/shear terms), so
that the network learns regions that are axis-aligned unless the text needs otherwise.

Modes:

* ``'code'`` (published code): one Bernoulli draw per call for the whole batch; ``ratio``
  is the probability of *keeping* the two terms.  At test time they are multiplied by
  ``ratio`` (their expected value during training).
* ``'sample'`` (option): ordinary (inverted) dropout semantics with an independent draw
  per matrix (per sample and region); ``ratio`` is the probability of *dropping*, kept
  terms are scaled by ``1 / (1 - ratio)`` during training, and test time is the identity.
* ``'none'``: identity.

The other four terms always pass unchanged.  The node is linear in ``theta`` (output =
theta * mask), so its gradient is ``gy * mask``.
"""
import numpy

import chainer
from chainer import backend
from chainer import function_node
from chainer.utils import type_check

MODES = ('code', 'sample', 'none')


class RotationDropout(function_node.FunctionNode):
    """``y = theta * mask`` with a mask that is 1 except at ``[..., 0, 1]`` and ``[..., 1, 0]``."""

    def __init__(self, ratio, mode, train):
        self.ratio = float(ratio)
        self.mode = mode
        self.train = train

    def check_type_forward(self, in_types):
        type_check.expect(in_types.size() == 1)
        t, = in_types
        type_check.expect(t.dtype.kind == 'f', t.ndim >= 2, t.shape[-2] == 2, t.shape[-1] == 3)

    def _factors(self, xp, lead_shape, dtype):
        """Off-diagonal factor per matrix, broadcastable to ``lead_shape``.

        'code' draws from ``numpy.random`` (one host draw per call, also on GPU);
        'sample' from ``xp.random``.
        """
        r = self.ratio
        if self.mode == 'none':
            return xp.ones((), dtype=dtype)
        if self.mode == 'code':
            if not self.train:
                return xp.asarray(r, dtype=dtype)
            keep = numpy.random.random_sample() < r
            return xp.asarray(1.0 if keep else 0.0, dtype=dtype)
        # 'sample'
        if not self.train or r == 0.0:
            return xp.ones((), dtype=dtype)
        keep = xp.random.random_sample(lead_shape) >= r
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - r))

    def forward(self, inputs):
        theta, = inputs
        xp = backend.get_array_module(theta)
        f = self._factors(xp, theta.shape[:-2], theta.dtype)
        mask = xp.ones(theta.shape, dtype=theta.dtype)
        f = xp.broadcast_to(f, theta.shape[:-2])
        mask[..., 0, 1] = f
        mask[..., 1, 0] = f
        self.mask = mask
        return theta * mask,

    def backward(self, indexes, grad_outputs):
        gy, = grad_outputs
        return gy * self.mask,


def rotation_dropout(theta, ratio=0.5, mode='code'):
    """Drop the rotation terms of affine matrices ``theta (..., 2, 3)``.

    Args:
        theta: Variable or array ``(..., 2, 3)`` (e.g. ``(B, 2, 3)`` or ``(B, N, 2, 3)``).
        ratio: keep probability in mode ``'code'``; drop probability in ``'sample'``.
        mode: ``'code'`` (default, published), ``'sample'`` or ``'none'``; see the
            module docstring.  Train/test follows ``chainer.config.train``.
    Returns:
        Variable of the shape of ``theta``.
    """
    if mode not in MODES:
        raise ValueError('rotation_dropout mode must be one of %s, got %r' % (MODES, mode))
    if not 0.0 <= ratio <= 1.0:
        raise ValueError('rotation_dropout ratio must be in [0, 1], got %r' % (ratio,))
    if mode == 'sample' and ratio >= 1.0:
        raise ValueError("rotation_dropout ratio is a drop probability in mode 'sample' "
                         "and must be < 1, got %r" % (ratio,))
    if mode == 'none':
        return chainer.as_variable(theta)
    y, = RotationDropout(ratio, mode, bool(chainer.config.train)).apply((theta,))
    return y

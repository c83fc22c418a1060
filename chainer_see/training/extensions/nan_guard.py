"""``NaNGuard``: stop training at the first non-finite loss, keeping the last good snapshot.

It runs every iteration before every other extension (highest priority), so the
snapshot writer of the same iteration never sees the broken state, and raises
``NonFiniteError`` naming the iteration, the observation and the last snapshot on disk.
``train.py`` prints that message alone and exits with status 3; the snapshots already
written stay as they are and no ``model.npz`` is written from the broken weights.

``ThetaGuard`` is a link hook on the localization network that raises the same error
as soon as a forward pass (training or validation) yields NaN/inf affine matrices:
weights can be finite and still overflow inside the network, and nothing downstream of
a NaN grid is worth computing.
"""
import math
import os

import chainer
from chainer.training import extension


class NonFiniteError(RuntimeError):
    """Training produced NaN/inf (loss or parameters)."""


class NaNGuard(extension.Extension):
    """Trainer extension checking ``keys`` of the observation every iteration.

    Args:
        keys: observation keys to check (``main/loss``); a missing key is ignored.
        target: a link whose parameters are checked too every ``param_interval``
            iterations (``None`` = never).
        param_interval (int): see ``target``.
        last_snapshot (callable or None): returns the path of the last good snapshot
            (named in the message).
    """

    trigger = (1, 'iteration')
    priority = extension.PRIORITY_WRITER + 1000
    name = 'NaNGuard'

    def __init__(self, keys=('main/loss',), target=None, param_interval=0, last_snapshot=None):
        self.keys = tuple(keys)
        self.target = target
        self.param_interval = int(param_interval)
        self.last_snapshot = last_snapshot

    def __call__(self, trainer):
        it = trainer.updater.iteration
        for key in self.keys:
            if key not in trainer.observation:
                continue
            v = trainer.observation[key]
            v = float(chainer.backend.CpuDevice().send(getattr(v, 'array', v)))
            if not math.isfinite(v):
                self._fail(it, '%s = %s' % (key, v))
        if self.target is not None and self.param_interval and it % self.param_interval == 0:
            bad = first_non_finite_param(self.target)
            if bad is not None:
                self._fail(it, 'parameter %s holds NaN/inf' % bad)

    def _fail(self, iteration, what):
        raise NonFiniteError('training diverged at iteration %d: %s; stopped, %s'
                             % (iteration, what, _keep(self.last_snapshot)))


class ThetaGuard(chainer.LinkHook):
    """Link hook for ``LocalizationNet``: ``NonFiniteError`` on non-finite output.

    Args:
        iteration (callable or None): returns the current iteration (for the message).
    """

    name = 'ThetaGuard'

    def __init__(self, iteration=None, last_snapshot=None):
        self.iteration = iteration
        self.last_snapshot = last_snapshot

    def forward_postprocess(self, args):
        out = args.out
        theta = out[0] if isinstance(out, tuple) else out
        a = getattr(theta, 'array', theta)
        xp = chainer.backend.get_array_module(a)
        if not bool(xp.isfinite(a).all()):
            where = ('at iteration %d' % self.iteration()) if self.iteration else ''
            raise NonFiniteError('training diverged %s: the localization network produced '
                                 'NaN/inf affine matrices (%s); stopped, %s'
                                 % (where, 'training' if chainer.config.train
                                    else 'validation', _keep(self.last_snapshot)))


def _keep(last_snapshot):
    snap = last_snapshot() if last_snapshot is not None else None
    if not snap:
        return 'no snapshot was written yet'
    return ('the last good snapshot is %s (resume from it with --resume, perhaps with a '
            'smaller --lr)' % os.path.basename(snap))


def first_non_finite_param(link):
    """Name of the first parameter of ``link`` holding NaN/inf, or ``None``.

    One check per device (the per-parameter flags are summed where they live, so a GPU
    synchronizes once); parameters are only searched one by one when something is wrong.
    """
    flags = {}
    for _, param in link.namedparams():
        a = param.array
        if a is None:
            continue
        xp = chainer.backend.get_array_module(a)
        bad = xp.logical_not(xp.isfinite(a).all())
        key = id(xp), getattr(getattr(a, 'device', None), 'id', None)
        flags[key] = bad if key not in flags else flags[key] | bad
    if not any(bool(f) for f in flags.values()):
        return None
    for name, param in link.namedparams():
        a = param.array
        if a is not None:
            xp = chainer.backend.get_array_module(a)
            if not bool(xp.isfinite(a).all()):
                return name
    return None

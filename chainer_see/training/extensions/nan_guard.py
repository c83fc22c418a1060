"""``NaNGuard``: stop training at the first non-finite loss, keeping the last good snapshot.

It runs every iteration before every other extension (highest priority), so the
snapshot writer of the same iteration never sees the broken state, and raises
``NonFiniteError`` naming the iteration, the observation and the last snapshot on disk.
``train.py`` prints that message alone and exits with status 3; the snapshots already
written stay as they are and no ``model.npz`` is written from the broken weights.

A run usually blows up before it produces NaN: the loss jumps and the weights grow to
1e20 while still finite.  A snapshot of that state is no place to resume from, so the
guard also tells the snapshot writer (``Snapshot(health=guard.unsound)``) when the
current state is unsound; such a snapshot is withheld (the writer tries again at its
next interval).  The state of iteration i is sound when

* the loss of iteration i is at most ``spike_factor`` (10) times the median of the
  losses of the ``window`` (50) iterations before it (judged once ``min_losses`` (5) of
  them are known; the median follows a loss that settles at a new level within half a
  window, so only a jump is refused), and
* every parameter of ``target`` is finite and at most ``weight_bound`` (1e6) in magnitude
  (healthy SEE weights stay below 100).

The "last good snapshot" a divergence names, and the one ``--resume`` takes, is then
the newest snapshot written from a sound state.

``ThetaGuard`` is a link hook on the localization network that raises the same error
as soon as a forward pass (training or validation) yields NaN/inf affine matrices:
weights can be finite and still overflow inside the network, and nothing downstream of
a NaN grid is worth computing.
"""
import collections
import math
import os

import chainer
from chainer.training import extension


class NonFiniteError(RuntimeError):
    """Training produced NaN/inf (loss or parameters)."""


#: Defaults of ``NaNGuard``'s soundness rule (see the module docstring).
SPIKE_FACTOR = 10.0
LOSS_WINDOW = 50
MIN_LOSSES = 5
WEIGHT_BOUND = 1e6


class NaNGuard(extension.Extension):
    """Trainer extension checking ``keys`` of the observation every iteration.

    Args:
        keys: observation keys to check (``main/loss``); a missing key is ignored.  The
            first one is the loss of the soundness rule.
        target: a link whose parameters are checked too every ``param_interval``
            iterations (``None`` = never), and bounded by ``unsound``.
        param_interval (int): see ``target``.
        last_snapshot (callable or None): returns the path of the last good snapshot
            (named in the message).
        spike_factor, window, min_losses, weight_bound: the soundness rule of the module
            docstring.
    """

    trigger = (1, 'iteration')
    priority = extension.PRIORITY_WRITER + 1000
    name = 'NaNGuard'

    def __init__(self, keys=('main/loss',), target=None, param_interval=0, last_snapshot=None,
                 spike_factor=SPIKE_FACTOR, window=LOSS_WINDOW, min_losses=MIN_LOSSES,
                 weight_bound=WEIGHT_BOUND):
        self.keys = tuple(keys)
        self.target = target
        self.param_interval = int(param_interval)
        self.last_snapshot = last_snapshot
        self.spike_factor = float(spike_factor)
        self.min_losses = int(min_losses)
        self.weight_bound = float(weight_bound)
        self.losses = collections.deque(maxlen=int(window))
        self.spike = None     # (iteration, loss, median, losses) of the last loss far above

    def __call__(self, trainer):
        it = trainer.updater.iteration
        for key in self.keys:
            if key not in trainer.observation:
                continue
            v = trainer.observation[key]
            v = float(chainer.backend.CpuDevice().send(getattr(v, 'array', v)))
            if not math.isfinite(v):
                self._fail(it, '%s = %s' % (key, v))
            if key == self.keys[0]:
                self._record(it, v)
        if self.target is not None and self.param_interval and it % self.param_interval == 0:
            bad = first_non_finite_param(self.target)
            if bad is not None:
                self._fail(it, 'parameter %s holds NaN/inf' % bad)

    def _record(self, iteration, loss):
        median = self.median()
        if (median is not None and median > 0
                and loss > self.spike_factor * median):
            self.spike = (iteration, loss, median, len(self.losses))
        self.losses.append(loss)

    def median(self):
        """Median of the recent losses (``None`` until ``min_losses`` are known)."""
        if len(self.losses) < self.min_losses:
            return None
        values = sorted(self.losses)
        n = len(values)
        return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])

    def unsound(self, trainer):
        """Why the state of the current iteration must not be snapshotted, or ``None``."""
        it = trainer.updater.iteration
        if self.spike is not None and self.spike[0] == it:
            _, loss, median, count = self.spike
            return ('the loss %.4g is more than %g times the median %.4g of the last %d '
                    'iterations' % (loss, self.spike_factor, median, count))
        if self.target is not None:
            name, size = largest_param(self.target)
            if name is not None and not size <= self.weight_bound:
                return ('parameter %s reaches %.3g in magnitude (bound %g)'
                        % (name, size, self.weight_bound))
        return None

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


def largest_param(link):
    """``(name, max |w|)`` of the parameter of ``link`` with the largest magnitude (NaN
    counts as larger than anything); ``(None, 0.0)`` without parameters."""
    best_name, best = None, 0.0
    for name, param in link.namedparams():
        a = param.array
        if a is None or a.size == 0:
            continue
        xp = chainer.backend.get_array_module(a)
        size = float(xp.abs(a).max())
        if best_name is None or (not math.isnan(best) and (math.isnan(size) or size > best)):
            best_name, best = name, size
    return best_name, best

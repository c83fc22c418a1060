"""How a training run stops: at its iterations, its time limit, a stop signal, or (MPI)
a non-finite loss on any rank.

- :class:`StopTrigger`: the trainer's stop trigger (iterations, ``--time-limit``, or
  ``request(reason)``, which the Ctrl-C / SIGTERM handler calls).
- :func:`install_stop_handlers`: routes SIGINT and SIGTERM to a handler while the
  trainer runs.
- :class:`SyncedNaNGuard`: with ``--mpi``, every rank stops when any rank's loss is
  not finite.
"""
import math
import signal

import chainer
from chainer import training

from chainer_see.training.extensions.nan_guard import NaNGuard
from chainer_see.training.extensions.nan_guard import NonFiniteError


class StopTrigger(object):
    """Stops at ``iterations``, after ``time_limit`` seconds, or when ``request()``-ed.

    The time is the trainer's ``elapsed_time``, which snapshots carry, so a resumed run
    stops when its whole training (before and after the resume) used the limit.
    """

    def __init__(self, iterations, time_limit=None):
        self.iterations = int(iterations)
        self.time_limit = time_limit
        self.reason = None
        self.time_up = False

    def request(self, reason):
        if self.reason is None:
            self.reason = reason

    def __call__(self, trainer):
        if trainer.updater.iteration >= self.iterations:
            return True
        if self.time_limit is not None and trainer.elapsed_time >= self.time_limit:
            self.time_up = True
            self.request('time limit of %.1f minutes reached' % (self.time_limit / 60.0))
        return self.reason is not None

    def get_training_length(self):
        return self.iterations, 'iteration'


def make_stop_trigger(iterations, time_limit_minutes):
    """The :class:`StopTrigger` of ``--iterations`` and ``--time-limit`` (minutes)."""
    return StopTrigger(iterations, None if time_limit_minutes is None
                       else float(time_limit_minutes) * 60.0)


def install_stop_handlers(handler):
    """Route SIGINT and SIGTERM to ``handler(signum, frame)`` (only the main thread can:
    elsewhere nothing changes).  Returns ``restore()``, which puts the old handlers back."""
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:       # not the main thread
            pass

    def restore():
        for sig, previous in old.items():
            signal.signal(sig, previous)
    return restore


class SyncedNaNGuard(training.Extension):
    """With MPI: every rank learns whether any rank saw a non-finite loss, so that all
    stop together instead of waiting for each other in the next all-reduce."""

    trigger = (1, 'iteration')
    priority = NaNGuard.priority + 1

    def __init__(self, comm):
        self.comm = comm

    def __call__(self, trainer):
        v = trainer.observation.get('main/loss')
        bad = 0
        if v is not None:
            v = float(chainer.backend.CpuDevice().send(getattr(v, 'array', v)))
            bad = 0 if math.isfinite(v) else 1
        if self.comm.allreduce_obj(bad):
            raise NonFiniteError('training diverged at iteration %d: a non-finite loss on %s; '
                                 'stopped on every rank'
                                 % (trainer.updater.iteration,
                                    'this rank' if bad else 'another rank'))

"""``BudgetLinearShift``: a learning-rate schedule that follows the run's budget.

A run ends at ``iterations`` or after ``time_limit`` seconds, whichever comes first
(``StopTrigger``).  Chainer's ``LinearShift`` only knows iterations, so a run ended by
its time limit never reaches the final value.  This schedule measures progress as the
larger of the two fractions used up::

    p = max(iteration / iterations, elapsed_time / time_limit)
    alpha = alpha0                                             if p <= start
          = alpha0 + (alpha1 - alpha0) * (p - start) / (1 - start)   otherwise

``elapsed_time`` is the trainer's, which Chainer keeps in snapshots, so a resumed run
continues the schedule where it stopped.
"""
from chainer.training import extension


class BudgetLinearShift(extension.Extension):
    """Shifts ``optimizer.<attr>`` linearly from ``values[0]`` to ``values[1]``.

    Args:
        attr (str): optimizer attribute (``'alpha'`` for Adam).
        values ((float, float)): value until ``start``, value at the end of the budget.
        iterations (int): iteration budget.
        time_limit (float or None): time budget in seconds (``None``: iterations only).
        start (float): fraction of the budget, in [0, 1), where the shift begins.
        optimizer: the optimizer (``None``: the trainer's main optimizer).
    """
    trigger = (1, 'iteration')
    priority = extension.PRIORITY_WRITER

    def __init__(self, attr, values, iterations, time_limit=None, start=0.0, optimizer=None):
        if not 0.0 <= start < 1.0:
            raise ValueError('start must be in [0, 1), got %r' % (start,))
        self.attr = attr
        self.values = (float(values[0]), float(values[1]))
        self.iterations = int(iterations)
        self.time_limit = time_limit
        self.start = float(start)
        self._optimizer = optimizer

    def progress(self, iteration, elapsed):
        """Share of the budget used after ``iteration`` iterations and ``elapsed`` s."""
        p = iteration / float(self.iterations)
        if self.time_limit:
            p = max(p, elapsed / float(self.time_limit))
        return min(1.0, p)

    def value(self, progress):
        v0, v1 = self.values
        if progress <= self.start:
            return v0
        return v0 + (v1 - v0) * (progress - self.start) / (1.0 - self.start)

    def _set(self, trainer):
        opt = self._optimizer or trainer.updater.get_optimizer('main')
        p = self.progress(trainer.updater.iteration, trainer.elapsed_time)
        setattr(opt, self.attr, self.value(p))

    def initialize(self, trainer):
        self._set(trainer)

    def __call__(self, trainer):
        self._set(trainer)


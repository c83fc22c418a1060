"""``LocalizationRestart``: re-initialize the recognition network, keep the localization.

The paper restarts training with the localization weights kept and the recognition
network re-initialized "when the localization stops improving while the recognition
still improves" (the authors did it by hand after 20-40 epochs).  Without true boxes
this extension measures both sides like this, at every validation (each time
``text_key`` is reported):

* **localization movement**: the predicted boxes of fixed validation images (``probe()``,
  test mode, in units of the image side) are compared with those of the previous
  validation: ``movement = mean |boxes - previous boxes|``.  The localization has
  *stopped improving* when the mean movement over the last ``window`` validations is
  ``<= box_tolerance`` (default 0.005: a third of a pixel on a 64-pixel image).
* **recognition improving**: the validation text loss fell over the same window by at
  least ``min_improvement`` of its first value
  (``(text[0] - text[-1]) / text[0] >= min_improvement``, default 0.05).

Both true -> restart.  With ``interval`` > 0 the rule is off and the restarts come every
``interval`` iterations instead.  At most ``max_restarts`` restarts; the window starts
empty after each, and when the curriculum (``curriculum.level``, read at each call)
has moved to another level.
A restart calls ``reset()`` (in ``train.py``: a freshly initialized recognition
network, drawn from a seeded generator so that every replica draws the same weights,
plus fresh optimizer state for its parameters only), logs a line and reports
``restarts`` (the count so far) to the log.  The count and the iteration of the last
restart are serialized with the trainer.  With a ChainerMN communicator rank 0 decides
for all ranks.
"""
import numpy

import chainer
from chainer.training import extension


class LocalizationRestart(extension.Extension):
    """Trainer extension; call it every iteration (its default trigger).

    Args:
        reset (callable): ``reset(restart_index)`` re-initializes recognition + its
            optimizer state.
        probe (callable or None): ``probe()`` -> boxes array ``(M, R, 4)`` of fixed
            images in units of the image side; ``None`` disables the automatic rule.
        curriculum (``levels.Curriculum`` or None): its level is read at each call; a
            new level empties the window.
        max_restarts (int): restarts allowed (0 = never).
        interval (int): restart every ``interval`` iterations (0 = off).
        text_key (str): the validation text loss.
        window (int), box_tolerance (float), min_improvement (float): the rule above.
        comm: ChainerMN communicator or ``None``.
        log (callable): receives one line per restart.
    """

    trigger = (1, 'iteration')
    priority = extension.PRIORITY_EDITOR - 1     # after the curriculum switch
    name = 'LocalizationRestart'

    def __init__(self, reset, probe=None, curriculum=None, max_restarts=0, interval=0,
                 text_key='validation/main/text', window=5, box_tolerance=0.005,
                 min_improvement=0.05, comm=None, log=print):
        self.reset = reset
        self.probe = probe
        self.curriculum = curriculum
        self._level = curriculum.level if curriculum is not None else None
        self.max_restarts = int(max_restarts)
        self.interval = int(interval)
        self.text_key = text_key
        self.window = int(window)
        self.box_tolerance = float(box_tolerance)
        self.min_improvement = float(min_improvement)
        self.comm = comm
        self.log = log
        self.restarts = 0
        self.last_restart = 0
        self.movements = []
        self.texts = []
        self._boxes = None
        self.history = []           # (iteration, reason)

    def reset_window(self):
        """Forget the measurements (after a restart or a curriculum switch)."""
        self.movements = []
        self.texts = []
        self._boxes = None

    def localization_settled(self):
        return (len(self.movements) >= self.window
                and float(numpy.mean(self.movements[-self.window:])) <= self.box_tolerance)

    def recognition_improving(self):
        if len(self.texts) < self.window:
            return False
        first, last = self.texts[-self.window], self.texts[-1]
        return first > 0 and (first - last) / first >= self.min_improvement

    def _measure(self, trainer):
        value = trainer.observation[self.text_key]
        self.texts.append(float(chainer.backend.CpuDevice().send(
            getattr(value, 'array', value))))
        del self.texts[:-self.window]
        if self.probe is not None:
            boxes = numpy.asarray(self.probe(), dtype=numpy.float64)
            if self._boxes is not None and self._boxes.shape == boxes.shape:
                self.movements.append(float(numpy.mean(numpy.abs(boxes - self._boxes))))
                del self.movements[:-self.window]
            else:                    # first probe, or the region count changed
                self.movements = []
            self._boxes = boxes

    def __call__(self, trainer):
        if self.curriculum is not None and self.curriculum.level != self._level:
            self._level = self.curriculum.level
            self.reset_window()
        it = trainer.updater.iteration
        multi = self.comm is not None and self.comm.size > 1
        validated = self.text_key in trainer.observation
        reason = None
        if self.restarts < self.max_restarts:
            if self.interval and it - self.last_restart >= self.interval:
                reason = 'every %d iterations' % self.interval
            elif not self.interval and validated and (not multi or self.comm.rank == 0):
                self._measure(trainer)
                if self.probe is not None and self.localization_settled() \
                        and self.recognition_improving():
                    reason = ('boxes settled (moved %.4f of the image side per validation) '
                              'while the text loss still falls (%.4f -> %.4f)'
                              % (numpy.mean(self.movements[-self.window:]),
                                 self.texts[-self.window], self.texts[-1]))
            if multi and validated and not self.interval:
                reason = _bcast(self.comm, reason)
        if reason is not None:
            self.restart(it, reason)
        chainer.report({'restarts': self.restarts})

    def restart(self, iteration, reason='by hand'):
        """Restart now."""
        self.reset(self.restarts)
        self.restarts += 1
        self.last_restart = int(iteration)
        self.history.append((int(iteration), reason))
        self.reset_window()
        if self.log is not None:
            self.log('localization restart %d of %d at iteration %d: recognition network '
                     're-initialized, localization kept (%s)'
                     % (self.restarts, self.max_restarts, iteration, reason))

    def serialize(self, serializer):
        self.restarts = int(serializer('restarts', self.restarts))
        self.last_restart = int(serializer('last_restart', self.last_restart))


def _bcast(comm, value):
    """Rank 0's ``value`` on every rank (ChainerMN wants an object only on the root)."""
    return comm.bcast_obj([value] if comm.rank == 0 else None, root=0)[0]

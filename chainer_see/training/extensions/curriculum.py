"""``CurriculumSwitch``: move to the next curriculum level when the validation loss settles,
or when the validation accuracy has reached a target and settled.

Rules, chosen by ``rule``:

* ``'loss'`` (published code, the default): every time the validation loss is reported
  (each test interval) it is appended to a window of ``window`` values (5); once the
  window is full and the mean of ``|value - last|`` over it is ``<= threshold`` (0.1),
  the level is done.  It measures flatness, not success: a loss that is flat because
  nothing is being learned ends the level too.
* ``'accuracy'`` (the paper's words: "once the accuracy on the validation set has
  settled"): the window holds the validation sequence accuracy; the level is done once
  the window is full, its newest value is at least ``min_accuracy`` and it rose by at
  most ``rise`` over the window (newest minus oldest).

Either way the next level starts with an empty window.  By hand: create the file
``trigger_file`` (``OUT/next_level``; it is removed when honoured) or send the
process ``signal_number`` (``SIGUSR1``).

The level lives in a ``levels.Curriculum``; the switch calls its ``set(level)``, which
runs what must happen before the next update (in ``train.py``: the model's number of
regions and characters, ``SEETraining.apply_level``).  Everything else that depends on
the level reads it when used (``levels.LevelIterator``, ``levels.LevelView``): this
extension calls no other.  The level and the window are serialized with the trainer,
so a snapshot resumes at its level.

With a ChainerMN communicator every rank takes the same decision: the validation loss
is the mean over the ranks (multi-node evaluator), and at each validation rank 0's
decision (settled, requested by hand, or neither) is broadcast to all ranks.
"""
import os
import signal as signal_module

import numpy

import chainer
from chainer.training import extension


#: the observation each rule watches
RULES = {'loss': 'validation/main/loss', 'accuracy': 'validation/main/sequence_accuracy'}


class CurriculumSwitch(extension.Extension):
    """Trainer extension; call it every iteration (its default trigger).

    Args:
        curriculum (``levels.Curriculum``): the level (0-based) and the number of
            levels; the last level is never left.
        key (str): the observation to watch (``validation/main/loss``; with
            ``rule='accuracy'`` the default is ``validation/main/sequence_accuracy``).
        window (int): values in the window.
        threshold (float): ``rule='loss'``: the level is done when mean
            ``|value - last| <= threshold``.
        rule (str): ``'loss'`` or ``'accuracy'`` (see the module docstring).
        min_accuracy (float): ``rule='accuracy'``: the newest value must reach this.
        rise (float): ``rule='accuracy'``: the most the value may still rise over the
            window for it to count as settled.
        trigger_file (str or None): a file whose appearance requests the next level.
        signal_number (int or None): a signal that requests the next level (``None`` =
            none; only installable from the main thread).
        comm: ChainerMN communicator or ``None``.
        log (callable): receives one line per switch (default ``print``).
    """

    trigger = (1, 'iteration')
    priority = extension.PRIORITY_EDITOR
    name = 'CurriculumSwitch'

    def __init__(self, curriculum, key=None, window=5, threshold=0.1,
                 trigger_file=None, signal_number=None, comm=None, log=print, rule='loss',
                 min_accuracy=0.8, rise=0.01):
        if window < 1:
            raise ValueError('curriculum window must hold at least 1 value, got %d' % window)
        if rule not in RULES:
            raise ValueError('curriculum rule must be one of %s, got %r' % (RULES, rule))
        self.curriculum = curriculum
        self.num_levels = curriculum.num_levels
        self.rule = rule
        self.key = key or RULES[rule]
        self.min_accuracy = float(min_accuracy)
        self.rise = float(rise)
        self.window_size = int(window)
        self.threshold = float(threshold)
        self.trigger_file = trigger_file
        self.signal_number = signal_number
        self.comm = comm
        self.log = log
        self.window = []
        self.switches = []          # (iteration, new level, reason)
        self._signalled = False
        self._old_handler = None

    @property
    def level(self):
        return self.curriculum.level

    # ------------------------------------------------------------------ manual trigger
    def initialize(self, trainer):
        if self.signal_number is not None and self._old_handler is None:
            try:
                self._old_handler = signal_module.signal(self.signal_number, self._on_signal)
            except ValueError:      # not the main thread
                self._old_handler = None

    def _on_signal(self, signum, frame):
        self._signalled = True

    def request_next_level(self):
        """Ask for the next level at the next call (what the file and the signal do)."""
        self._signalled = True

    def _manual_request(self):
        requested = self._signalled
        self._signalled = False
        if self.trigger_file and os.path.exists(self.trigger_file):
            requested = True
            try:
                os.remove(self.trigger_file)
            except OSError:
                pass
        return requested

    # ------------------------------------------------------------------ rule
    def plateau(self):
        """Whether the window is full and the level done by ``rule``."""
        if len(self.window) < self.window_size:
            return False
        w = numpy.asarray(self.window, dtype=numpy.float64)
        if self.rule == 'accuracy':
            return bool(w[-1] >= self.min_accuracy and w[-1] - w[0] <= self.rise)
        return bool(numpy.mean(numpy.abs(w - w[-1])) <= self.threshold)

    def __call__(self, trainer):
        obs = trainer.observation
        validated = self.key in obs
        multi = self.comm is not None and self.comm.size > 1
        manual = self._manual_request() if not multi or self.comm.rank == 0 else False
        settled = False
        if validated:
            value = obs[self.key]
            value = float(chainer.backend.CpuDevice().send(getattr(value, 'array', value)))
            self.window.append(value)
            del self.window[:-self.window_size]
            settled = self.plateau()
        decision = 'settled' if settled else ('manual' if manual else None)
        if multi:
            # rank 0 decides for all (the ranks meet here at the same iterations: those
            # with a validation); a manual request elsewhere waits for the next one
            if not validated:
                if manual:
                    self._signalled = True
                decision = None
            else:
                decision = _bcast(self.comm, decision)
        if decision and self.level + 1 < self.num_levels:
            reason = self._settled_reason() if decision == 'settled' else 'requested by hand'
            self.switch_to(self.level + 1, trainer.updater.iteration, reason)
        chainer.report({'level': self.level})

    def _settled_reason(self):
        if self.rule == 'accuracy':
            return ('validation sequence accuracy %.3f reached %.2f and rose %.3f over %d '
                    'validations' % (self.window[-1], self.min_accuracy,
                                     self.window[-1] - self.window[0], self.window_size))
        return 'validation loss settled'

    def switch_to(self, level, iteration=None, reason='requested'):
        """Apply ``level`` now and start an empty window."""
        self.curriculum.set(level)
        self.window = []
        self.switches.append((iteration, self.level, reason))
        if self.log is not None:
            self.log('curriculum: level %d of %d from iteration %s (%s)'
                     % (self.level + 1, self.num_levels, iteration, reason))

    def finalize(self):
        if self._old_handler is not None:
            try:
                signal_module.signal(self.signal_number, self._old_handler)
            except ValueError:
                pass
            self._old_handler = None

    def serialize(self, serializer):
        level = int(serializer('level', self.level))
        if level != self.level:     # a resume sets the level first; this is a fallback
            self.curriculum.set(level)
        window = numpy.zeros(self.window_size, numpy.float64)
        window[:len(self.window)] = self.window
        n = int(serializer('window_length', len(self.window)))
        window = serializer('window', window)
        if isinstance(serializer, chainer.serializer.Deserializer):
            self.window = [float(v) for v in numpy.asarray(window)[:n]]


def _bcast(comm, value):
    """Rank 0's ``value`` on every rank (ChainerMN wants an object only on the root)."""
    return comm.bcast_obj([value] if comm.rank == 0 else None, root=0)[0]

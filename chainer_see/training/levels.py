"""The curriculum level of a run, and what reads it.

One :class:`Curriculum` holds the level.  Moving to another level is one call,
``curriculum.set(level)``: it runs the run's ``apply(level)`` (the model's N and T, the
optimizer's rules for new parameters, the worker processes of several GPUs) and then
changes the value.  Everything else that depends on the level reads it when it is used,
and nobody pushes anything into it:

* :class:`LevelIterator`: the training or validation iterator of the current level,
  made when first needed (the iterator of the level before is finalized then);
* :class:`LevelView`: any other value made from the level (the validation images of
  the box pictures, the IoU report, the restart probe), made once per level.

The Trainer extensions hold these objects and never call each other: the
``CurriculumSwitch`` decides and calls ``set``; the ``BBoxPlotter``, ``BoxIoUReport`` and
``LocalizationRestart`` see the new level at their next call.
"""
import chainer


class Curriculum(object):
    """The current level (0-based) of ``num_levels``.

    Args:
        num_levels (int): levels; ``set`` refuses others.
        apply (callable or None): ``apply(level)``, run by ``set`` before the value
            changes (what must happen before the next update).
        label_shapes (list or None): ``(N, T)`` per level, for those that need it
            without the data (the worker processes of several GPUs).
    """

    def __init__(self, num_levels, apply=None, label_shapes=None):
        if int(num_levels) < 1:
            raise ValueError('a curriculum needs at least one level, got %r' % (num_levels,))
        self.num_levels = int(num_levels)
        self.label_shapes = list(label_shapes) if label_shapes is not None else None
        self._apply = apply
        self.level = 0

    def set(self, level):
        """Move to ``level``: ``apply(level)``, then the new value."""
        level = int(level)
        if not 0 <= level < self.num_levels:
            raise ValueError('level %d is not one of the %d levels' % (level, self.num_levels))
        if self._apply is not None:
            self._apply(level)
        self.level = level


class LevelView(object):
    """``make(level)`` for the current level of ``curriculum``, made once per level:
    ``get()`` returns the same object until the level changes."""

    def __init__(self, curriculum, make):
        self.curriculum = curriculum
        self.make = make
        self._level = None
        self._value = None

    def get(self):
        level = self.curriculum.level
        if level != self._level:
            self._value = self.make(level)
            self._level = level
        return self._value


class LevelIterator(chainer.dataset.Iterator):
    """The iterator ``make(level)`` of the current level of ``curriculum``.

    It switches by itself when the level has changed, at the next batch, ``reset`` or
    ``serialize`` (the updater and the evaluator hold it as their only iterator).  A
    snapshot stores the state of the current level's iterator under the same keys as
    that iterator would, so a resume sets the level first, then loads.
    """

    def __init__(self, curriculum, make):
        self._curriculum = curriculum
        self._make = make
        self._level = None
        self._iterator = None

    def current(self):
        """The iterator of the current level (made now if the level changed)."""
        level = self._curriculum.level
        if level != self._level:
            old, self._iterator = self._iterator, self._make(level)
            self._level = level
            if old is not None:
                old.finalize()
        return self._iterator

    def __next__(self):
        return self.current().__next__()

    next = __next__

    def reset(self):
        self.current().reset()

    def __getattr__(self, name):
        # what else the current iterator has (epoch, epoch_detail, is_new_epoch,
        # dataset, batch_size, current_position, ...): the updater, the evaluator and
        # the log read them as of the iterator they hold
        if name.startswith('_'):
            raise AttributeError(name)
        return getattr(self.current(), name)

    def serialize(self, serializer):
        self.current().serialize(serializer)

    def finalize(self):
        if self._iterator is not None:
            self._iterator.finalize()

"""The Trainer extensions of the process that writes files: what a run shows and keeps.

``log`` (``LogReport``), the console table and progress bar, the curve plots
(``plots.training_curves``), the box IoU against the true boxes (``BoxIoUReport``) and
the box pictures (``BBoxPlotter``).  ``build.SEETraining`` adds them only on the writer
(one process of an MPI run).
"""
import os
import sys

import numpy

from chainer.training import extensions

from chainer_see.training.extensions.bbox_plotter import BBoxPlotter
from chainer_see.training.extensions.box_iou import BoxIoUReport


class TerminalOnly(object):
    """A stream that drops the terminal's "erase" code (``ESC [ J``, which PrintReport
    writes before every line) when it is not a terminal, so logs stay clean."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        isatty = getattr(self._stream, 'isatty', None)
        if not (isatty and isatty()):
            text = text.replace('\033[J', '')
        self._stream.write(text)

    def flush(self):
        self._stream.flush()

    def isatty(self):
        isatty = getattr(self._stream, 'isatty', None)
        return bool(isatty and isatty())


def make_box_iou(model, dataset):
    """The ``BoxIoUReport`` on ``dataset`` (a full validation set, or a
    ``levels.LevelView`` of the current level's), or ``None`` when the data knows no
    true boxes."""
    box_iou = BoxIoUReport(model, dataset)
    return box_iou if box_iou.available() else None


def add_log_report(trainer, log_interval, postprocess, at_start):
    """``LogReport`` every ``log_interval`` iterations (an entry before training with
    ``at_start``: the IoU of the untrained model)."""
    trainer.extend(extensions.LogReport(trigger=(log_interval, 'iteration'),
                                        postprocess=postprocess),
                   call_before_training=at_start)


def add_console(trainer, uses_regularizers, at_start, iterations, time_limit):
    """The console table (its escape codes only on a terminal) and, on a terminal, the
    progress bar."""
    from chainer_see.training.extensions import console
    columns = console.training_columns(uses_regularizers, at_start)
    trainer.extend(console.ConsoleTable(columns, out=TerminalOnly(sys.stdout)))
    if sys.stdout.isatty():
        trainer.extend(console.TrainingProgressBar(iterations, time_limit, update_interval=5))


def add_curve_plots(trainer, log_interval, uses_regularizers, data, at_start):
    """Every curve of ``plots.training_curves`` for ``data`` (``CurriculumData``: the most
    words per image of its levels, whether it has box labels); nothing without matplotlib."""
    from chainer_see.training.extensions import plots
    if not plots.CurvePlot.available():
        return
    words = max(data.label_shape(k)[0] for k in range(data.num_levels))
    for curve in plots.training_curves((log_interval, 'iteration'), uses_regularizers,
                                       words, at_start, box_loss=data.box_fraction > 0):
        trainer.extend(curve, name='plot_' + curve.file_name.rsplit('.', 1)[0],
                       call_before_training=True)


def plot_images(dataset, count):
    """``(images, labels, true boxes)`` of the first ``count`` images of ``dataset``
    (``None`` boxes where unknown): what ``BBoxPlotter`` draws."""
    n = min(count, len(dataset))
    batch = [dataset[i] for i in range(n)]
    images = numpy.stack([b[0] for b in batch])
    labels = numpy.stack([b[1] for b in batch])
    boxes = []
    for i in range(n):
        try:
            boxes.append(dataset.true_boxes(i))
        except (AttributeError, NotImplementedError):
            boxes.append(None)
    return images, labels, boxes


def make_plotter(model, pictures, out, options, describe):
    """The ``BBoxPlotter`` into ``OUT/boxes`` of ``pictures``, a ``levels.LevelView`` of
    the current level's :func:`plot_images`."""
    images, labels, boxes = pictures.get()
    return BBoxPlotter(model, images, labels, os.path.join(out, 'boxes'), true_boxes=boxes,
                       heatmaps=options.heatmaps, describe=describe, gif=not options.no_gif,
                       pictures=pictures)

"""``BoxIoUReport``: how well the predicted boxes match the true word boxes, during training.

SEE never sees a box, but synthetic data (and converted SVHN) know where every word
is.  Every time it is called, this extension runs the model on fixed validation images
and reports the mean reading-order IoU (region ``k`` against word ``k``,
``chainer_see.evaluation.boxes.reading_order_ious``) as ``validation/main/iou`` and the
share of words with IoU >= 0.5 as ``validation/main/iou50``.  Datasets without true
boxes report nothing.

The curve starts at the untrained model: ``train.py`` extends the trainer with this
extension, the ``LogReport`` and the ``iou.png`` ``CurvePlot`` all with
``call_before_training=True``, so the values measured before the first update become
the log's entry and the plot's point at iteration 0 (Chainer's ``LogReport`` and plots
write an entry when called before training; only this extension reports anything
then).
"""
import numpy

import chainer
from chainer.training import extension

from chainer_see.evaluation.boxes import reading_order_ious
from chainer_see.training.levels import LevelView


def _true_boxes(dataset, i):
    try:
        return dataset.true_boxes(i)
    except (AttributeError, NotImplementedError):
        return None


class BoxIoUReport(extension.Extension):
    """Reports the IoU of predicted against true word boxes on fixed validation images.

    Args:
        model: ``SEE`` chain (its ``config.views`` says how boxes are laid out).
        dataset: the validation dataset; items ``(image (3, H, W), labels (N, T))`` and
            ``true_boxes(i)`` in pixels of the image; or a ``levels.LevelView`` of the
            current level's one, read at every call (a new level: new probe images).
            ``set_dataset`` replaces a fixed one.
        count (int): images, spread evenly over the dataset.
        key (str): prefix of the reported values.

    The probe images are read once per dataset, not at every call.
    """
    trigger = (1, 'epoch')
    priority = extension.PRIORITY_WRITER
    _UNREAD = object()

    def __init__(self, model, dataset, count=64, key='validation/main/'):
        self.model = model
        self.count = int(count)
        self.key = key
        self._source = dataset if isinstance(dataset, LevelView) else None
        self.set_dataset(dataset.get() if self._source is not None else dataset)

    def set_dataset(self, dataset):
        """Measure on ``dataset`` from now on."""
        self.dataset = dataset
        self._probe_data = self._UNREAD

    def _probe(self):
        if self._source is not None and self._source.get() is not self.dataset:
            self.set_dataset(self._source.get())
        if self._probe_data is self._UNREAD:
            self._probe_data = self._read_probe(self.dataset)
        return self._probe_data

    def _read_probe(self, ds):
        """``(images, labels, true boxes)`` of the probe images, or ``None`` without boxes."""
        n = min(self.count, len(ds))
        index = numpy.unique(numpy.linspace(0, len(ds) - 1, n).round().astype(int))
        items, boxes = [], []
        for i in index:
            b = _true_boxes(ds, int(i))
            if b is None:
                return None
            items.append(ds[int(i)])
            boxes.append(numpy.asarray(b, numpy.float64))
        images = numpy.stack([it[0] for it in items])
        labels = numpy.stack([it[1] for it in items])
        return images, labels, boxes

    def available(self):
        """True when the current validation images have true boxes."""
        return self._probe() is not None

    def measure(self):
        """``(mean IoU, share >= 0.5)`` over the words of the probe images, or ``None``."""
        probe = self._probe()
        if probe is None:
            return None
        images, labels, true = probe
        out = self.model.infer(images)
        pred = chainer.backend.CpuDevice().send(out.boxes)
        views = self.model.config.views
        ious = numpy.concatenate([reading_order_ious(pred[i], true[i], labels[i], views)
                                  for i in range(len(true))])
        if not len(ious):
            return None
        return float(ious.mean()), float((ious >= 0.5).mean())

    def __call__(self, trainer):
        result = self.measure()
        if result is not None:
            chainer.report({self.key + 'iou': result[0], self.key + 'iou50': result[1]})

"""``CurvePlot``: the PNG curves of a training run, each with a title, axis labels and
legend labels a reader understands without knowing the report keys.

Every curve of ``train.py`` (``loss.png``, ``accuracy.png``, ``iou.png``, ``lr.png``,
``regularizers.png``) is one ``CurvePlot``; ``LABELS`` names the report keys once for
all of them.  Like Chainer's ``PlotReport`` it is called at every iteration, averages
what was reported since its last point and adds a point (x = iteration) when its own
``trigger`` fires, and once before training when the trainer extends it with
``call_before_training=True`` (the IoU of the untrained model at iteration 0).
Unlike ``PlotReport`` it can keep a curve off the disk while the curve is flat
(``only_if_varies``: no ``lr.png`` for a constant learning rate), exposes its points
(``data``) and its picture (``figure()``), and writes through ``chainer_see.atomic``.
"""
import json
import os

from chainer import reporter
from chainer import serializer as serializer_module
from chainer.training import extension
from chainer.training import trigger as trigger_module

from chainer_see.atomic import atomic_file

LABELS = {
    'main/loss': 'training loss',
    'validation/main/loss': 'validation loss',
    'main/text': 'training text loss (without regularizers)',
    'validation/main/text': 'validation text loss (without regularizers)',
    'main/sequence_accuracy': 'training sequence accuracy',
    'validation/main/sequence_accuracy': 'validation sequence accuracy',
    'main/slot_accuracy': 'training per-slot accuracy (published)',
    'validation/main/slot_accuracy': 'validation per-slot accuracy (published)',
    'validation/main/iou': 'mean IoU with the true word boxes',
    'validation/main/iou50': 'share of words with IoU >= 0.5',
    'main/area': 'area (share of the view)',
    'main/aspect': 'aspect hinge (height / width - 0.5)',
    'main/direction': 'direction (mirrored grid, grid units)',
    'main/outside': 'outside the view (grid units)',
    'main/width': 'width / view width',
    'main/height': 'height hinge (pixels)',
    'main/box': 'training box loss (smooth-L1, grid corners vs true boxes)',
    'lr': 'Adam alpha',
}


def label(key):
    """The legend text of a report key (the key itself when it has no name)."""
    return LABELS.get(key, key)


class CurvePlot(extension.Extension):
    """Draws the mean of ``keys`` against the iteration into ``out/file_name``.

    Args:
        keys (list of str): report keys, one line each (missing keys draw nothing).
        file_name (str): the PNG in the trainer's ``out`` folder.
        title (str): the figure's title.
        ylabel (str): the label of the y axis (the x axis is the iteration).
        labels (dict): legend texts by key; ``LABELS`` for the rest.
        trigger: when to add a point and redraw (``(k, 'iteration')``).
        only_if_varies (bool): write the file only once the values differ (a constant
            learning rate is no curve).
        log_y (bool): logarithmic y axis.
        ylim ((float, float) or None): fixed limits of the y axis (shares: 0 to 1).

    ``data`` maps every key to its points ``[(iteration, mean), ...]``; it is kept in
    snapshots, so a resumed run continues its curves.
    """
    trigger = (1, 'iteration')
    priority = extension.PRIORITY_READER

    def __init__(self, keys, file_name, title, ylabel, labels=None,
                 trigger=(1, 'epoch'), only_if_varies=False, log_y=False, ylim=None):
        self.keys = tuple(keys)
        self.file_name = file_name
        self.title = title
        self.ylabel = ylabel
        self.labels = {k: (labels or {}).get(k, label(k)) for k in self.keys}
        self._trigger = trigger_module.get_trigger(trigger)
        self.only_if_varies = bool(only_if_varies)
        self.log_y = bool(log_y)
        self.ylim = ylim
        self.data = {k: [] for k in self.keys}
        self._summary = reporter.DictSummary()

    @staticmethod
    def available():
        """True when matplotlib can be imported."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return False
        return True

    def __call__(self, trainer):
        observation = trainer.observation
        self._summary.add({k: observation[k] for k in self.keys if k in observation})
        if not (trainer.is_before_training or self._trigger(trainer)):
            return
        means = self._summary.compute_mean()
        self._summary = reporter.DictSummary()
        self.add_points(trainer.updater.iteration, means)
        if self.drawable():
            self.save(os.path.join(trainer.out, self.file_name))

    def add_points(self, iteration, values):
        """Add ``values[key]`` at ``iteration`` for the keys that have one."""
        for k in self.keys:
            if k in values:
                self.data[k].append((int(iteration), float(values[k])))

    def drawable(self):
        """True when there is something to draw (and, with ``only_if_varies``, when the
        values are not all the same)."""
        values = [v for points in self.data.values() for _, v in points]
        if not values:
            return False
        return not self.only_if_varies or len(set(values)) > 1

    def figure(self):
        """The picture as a matplotlib ``Figure`` (no pyplot state is touched)."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
        fig = Figure(figsize=(7.0, 4.5))
        ax = fig.add_subplot(111)
        for k in self.keys:
            points = self.data[k]
            if points:
                x, y = zip(*points)
                ax.plot(x, y, marker='x', markersize=4, label=self.labels[k])
        ax.set_title(self.title)
        ax.set_xlabel('iteration')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(self.ylabel)
        if self.log_y:
            ax.set_yscale('log')
        if self.ylim is not None:
            ax.set_ylim(*self.ylim)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(loc='best', fontsize=8)
        fig.tight_layout()
        return fig

    def save(self, path):
        """Write the picture to ``path`` (atomically)."""
        fig = self.figure()
        with atomic_file(path) as f:
            fig.savefig(f, format='png', dpi=90)

    def serialize(self, serializer):
        if isinstance(serializer, serializer_module.Serializer):
            serializer('data', json.dumps(self.data))
            return
        try:
            text = serializer('data', '')
        except KeyError:        # a snapshot from before this curve existed: start afresh
            return
        if text:
            loaded = json.loads(str(text))
            self.data = {k: [(int(x), float(y)) for x, y in loaded.get(k, [])]
                         for k in self.keys}


SHARE = (-0.02, 1.02)       # y limits of accuracies and IoUs: the whole range 0 to 1


def training_curves(trigger, regularizers=False, words=1, boxes=False, box_loss=False):
    """The curves of ``train.py``, in the order they are extended.

    Args:
        trigger: when the curves add a point (the log interval).
        regularizers (bool): the loss has regularizers (``regularizers.png`` and the
            text loss beside the loss).
        words (int): the most word slots of any curriculum level; above 1 the published
            per-slot accuracy is drawn beside the sequence accuracy.
        boxes (bool): the validation data have true boxes (``iou.png``).
        box_loss (bool): the run trains on box labels (``--box-fraction`` > 0): the box
            term ``main/box`` is drawn in ``loss.png``, with the text loss beside the
            total.
    """
    curves = []
    loss_keys = ['main/loss', 'validation/main/loss']
    if regularizers or box_loss:
        loss_keys += ['main/text', 'validation/main/text']
    if box_loss:
        loss_keys += ['main/box']
    if regularizers:
        curves.append(CurvePlot(
            ['main/area', 'main/aspect', 'main/direction', 'main/outside', 'main/height',
             'main/width'],
            'regularizers.png', 'Regularizers of the predicted grids (training batches)',
            'regularizer value (mean over regions)', trigger=trigger))
    curves.append(CurvePlot(
        loss_keys, 'loss.png',
        'Loss (text cross-entropy%s%s)' % (' + regularizers' if regularizers else '',
                                           ' + box term' if box_loss else ''),
        'loss', trigger=trigger))
    acc_keys = ['main/sequence_accuracy', 'validation/main/sequence_accuracy']
    title = 'Sequence accuracy (every word of the image right)'
    if words > 1:
        acc_keys += ['main/slot_accuracy', 'validation/main/slot_accuracy']
        title += ' and per-slot accuracy'
    curves.append(CurvePlot(acc_keys, 'accuracy.png', title, 'accuracy', trigger=trigger,
                            ylim=SHARE))
    if boxes:
        curves.append(CurvePlot(
            ['validation/main/iou', 'validation/main/iou50'], 'iou.png',
            'Predicted against true word boxes (validation; boxes are never trained on)',
            'IoU, share of words', trigger=trigger, ylim=SHARE))
    curves.append(CurvePlot(['lr'], 'lr.png', 'Learning rate', 'Adam alpha',
                            trigger=trigger, only_if_varies=True))
    return curves

"""The Chain the updater and the evaluator call: model + loss, reporting every part."""
import chainer

from chainer_see.evaluation import metrics


class TrainChain(chainer.Chain):
    """``chain(x, labels)`` runs ``model(x)`` and ``loss(output, labels)`` and returns the loss.

    Reports (``chainer.report``, observer = this chain, so the keys read ``main/...``
    under the updater and ``validation/main/...`` under the evaluator):
    ``loss``, ``text`` and, with regularizers, ``area``, ``aspect``, ``direction``,
    ``height``, ``outside``, ``area_weight`` (the parts of ``SEELoss``);
    ``slot_accuracy`` (the published per-slot accuracy: the mean over word slots of the
    share of right words, an empty slot predicted empty counted right);
    ``sequence_accuracy`` (every word of the image right, the accuracy the plots and the
    console show).  Non-finite values are reported as they are (the NaN guard reads
    them).  ``box`` (``main/box``): the box term of ``SEELoss`` on the batches that come
    with box labels (``train.py --box-fraction``; 0 for images without boxes); the
    validation batches have none, so it has no ``validation/main/box``.

    Args:
        model: ``chainer_see.SEE``.
        loss: ``SEELoss`` (any callable ``(output, labels) -> (Variable, dict)``).
        loss_scale (float): the returned loss is multiplied by this (the multi-GPU
            updater sums the gradients of its devices, ``1 / devices`` makes that sum
            the mean); reported values are not scaled.
    """

    def __init__(self, model, loss, loss_scale=1.0):
        super(TrainChain, self).__init__()
        with self.init_scope():
            self.model = model
        self.loss = loss
        self.loss_scale = float(loss_scale)

    def forward(self, x, labels, boxes=None, box_mask=None):
        """``boxes`` ``(B, N*V, 4)`` and ``box_mask`` ``(B, N*V)``: the true word boxes of
        the batch (``box_labels.BoxLabels``), passed on to the loss; ``None`` for text only."""
        output = self.model(x)
        if boxes is None and box_mask is None:
            loss, parts = self.loss(output, labels)
        else:
            loss, parts = self.loss(output, labels, boxes, box_mask)
        report = dict(parts)
        report['sequence_accuracy'] = metrics.sequence_accuracy(output.logits.array, labels)
        chainer.report(report, self)
        if self.loss_scale != 1.0:
            loss = loss * loss.dtype.type(self.loss_scale)
        return loss


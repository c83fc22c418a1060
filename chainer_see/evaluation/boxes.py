"""Box overlap (IoU) and the reading-order matching of predicted and true word boxes.

Pixel convention (as ``chainer_see.data.boxes``): a box is ``(x_min, y_min, x_max,
y_max)`` in continuous pixel-centre coordinates, the centre of pixel column ``j`` at
``x = j``; an image of width ``W`` spans ``[-0.5, W - 0.5]``.  True boxes put their
edges at the outer edges of the ink pixels; a predicted box is what the model reports
(``SEEOutput.boxes``): the extent of the outermost sampling points of its grid.

Areas are continuous: ``area = (x_max - x_min) * (y_max - y_min)``, zero for an empty
or inverted box (no ``+ 1`` as in integer-pixel conventions).  Boxes move between image sizes with
``chainer_see.data.boxes.rescale_boxes`` (``x' = (x + 0.5) * W'/W - 0.5``).
"""
import numpy


def box_area(boxes):
    """Areas ``(...)`` of boxes ``(..., 4)``; inverted or empty boxes have area 0."""
    b = numpy.asarray(boxes, numpy.float64)
    w = numpy.clip(b[..., 2] - b[..., 0], 0.0, None)
    h = numpy.clip(b[..., 3] - b[..., 1], 0.0, None)
    return w * h


def box_iou(a, b):
    """Intersection over union of boxes ``a`` and ``b`` (``(..., 4)``, broadcast together).

    Returns float64 ``(...)`` in ``[0, 1]``.  Two boxes whose union has no area (both
    empty) have IoU 0, not NaN: an empty predicted box never matches anything.
    """
    a = numpy.asarray(a, numpy.float64)
    b = numpy.asarray(b, numpy.float64)
    x0 = numpy.maximum(a[..., 0], b[..., 0])
    y0 = numpy.maximum(a[..., 1], b[..., 1])
    x1 = numpy.minimum(a[..., 2], b[..., 2])
    y1 = numpy.minimum(a[..., 3], b[..., 3])
    inter = numpy.clip(x1 - x0, 0.0, None) * numpy.clip(y1 - y0, 0.0, None)
    union = box_area(a) + box_area(b) - inter
    safe = numpy.where(union > 0, union, 1.0)
    return numpy.where(union > 0, inter / safe, 0.0)


def reading_order_ious(pred_boxes, true_boxes, labels, views=1):
    """IoU of predicted region ``k`` against true word ``k`` for every word slot that
    holds a true word ("reading-order" matching: the model is trained with slot ``k`` =
    the ``k``-th word in reading order, so region ``k`` is meant to find word ``k``).

    Args:
        pred_boxes: ``(N * V, 4)`` predicted boxes of one image, region-major (index
            ``n * V + v``), pixels of the model input.
        true_boxes: ``(n_words * V, 4)`` true boxes of the same image and pixel space,
            region-major, one per word of the label in slot order.
        labels: ``(N_label, T)`` int class ids of the image (0 = blank); the non-empty
            slots are the words, in order.
        views: V, views side by side in the image (FSNS: 4).

    Returns:
        float64 ``(n_words * V,)``: one IoU per true word and view, in the order of
        ``true_boxes``.  A word in a slot the model does not have (slot ``k >= N``) has
        no predicted region and gets IoU 0.
    """
    pred = numpy.asarray(pred_boxes, numpy.float64).reshape(-1, 4)
    true = numpy.asarray(true_boxes, numpy.float64).reshape(-1, 4)
    labels = numpy.asarray(labels)
    slots = numpy.flatnonzero((labels != 0).any(axis=-1))
    if len(true) != len(slots) * views:
        raise ValueError('%d true boxes for %d words x %d views: boxes and labels disagree'
                         % (len(true), len(slots), views))
    if len(pred) % views:
        raise ValueError('%d predicted boxes is not a multiple of %d views' % (len(pred), views))
    num_regions = len(pred) // views
    out = numpy.zeros(len(true), numpy.float64)
    for j, k in enumerate(slots):
        if k >= num_regions:
            continue
        for v in range(views):
            out[j * views + v] = box_iou(pred[k * views + v], true[j * views + v])
    return out


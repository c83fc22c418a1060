"""The evaluation loop: a model over a held-out set, batch by batch, and its figures.

:func:`evaluate_model` reads every image (the next batch loads in a thread while the
model runs), keeps per image the words, boxes, confidences and IoUs in an
:class:`Evaluation`, and computes the report's figures (:func:`figures`).
"""
import concurrent.futures
import math
import sys

import numpy

from chainer_see.data.errors import DataError
from chainer_see.evaluation import inference
from chainer_see.evaluation import metrics
from chainer_see.evaluation.boxes import reading_order_ious
from chainer_see.evaluation.eval_set import Relabel

DEFAULT_BATCH = 32


def example_name(dataset, dataset_name, i):
    """The image's path for file datasets, ``NAME[i]`` for generated ones."""
    if hasattr(dataset, 'image_path'):
        return dataset.image_path(i)
    return '%s[%d]' % (dataset_name, i)


def _load_batch(dataset, indices, skip_bad, report):
    kept, images, labels, boxes = [], [], [], []
    for i in indices:
        try:
            x, lab = dataset[i]
        except DataError as e:
            if not skip_bad:
                raise
            report('skipped: %s' % e)
            continue
        kept.append(i)
        images.append(x)
        labels.append(lab)
        tb = dataset.true_boxes(i) if hasattr(dataset, 'true_boxes') else None
        boxes.append(None if tb is None else numpy.asarray(tb, numpy.float32).reshape(-1, 4))
    if not kept:
        return kept, None, None, boxes
    return kept, numpy.stack(images), numpy.stack(labels), boxes


def _pad(a, n, t):
    out = numpy.zeros((a.shape[0], n, t), numpy.int32)
    out[:, :a.shape[1], :a.shape[2]] = a
    return out


class Evaluation(object):
    """Per-image results and the figures of one evaluation.

    Attributes:
        indices (list of int): dataset indices evaluated (bad images skipped).
        names (list of str): image path or ``NAME[i]`` per image.
        pred_ids, labels: int32 ``(M, N, T)``, padded to a common shape.
        words, label_words: per image the list of N decoded strings.
        boxes: float32 ``(M, N*V, 4)``, pixels of the model input.
        word_confidences ``(M, N)``, confidences ``(M,)``.
        ious: per image float64 array (one IoU per true word and view) or ``None``.
        views_match (bool): the data's views equal the model's (IoU possible).
        views (int): V, the model's views (``ious`` holds V values per word).
        skipped (int): images skipped as unreadable (``skip_bad``).
        figures (dict): the report's figures (see :func:`figures`).
    """

    def __init__(self):
        self.indices, self.names, self.ious = [], [], []
        self.words, self.label_words = [], []
        self.skipped = 0
        self.views_match = True
        self.views = 1
        self.figures = {}


def evaluate_model(model, dataset, batch_size=DEFAULT_BATCH, device=None, show_progress=None,
                   skip_bad=False, report=None, dataset_name='dataset', read=None):
    """Evaluate ``model`` (a ``SEE``) on ``dataset``; returns an :class:`Evaluation`.

    The dataset's images must have the model's input size (``open_evaluation_set`` sees
    to it).  Batches are loaded one ahead in a thread while the model runs; test mode,
    no graph.  ``skip_bad`` reports unreadable images (through ``report``, default
    stderr) and goes on; otherwise the first one raises its ``DataError``.  Labels of a
    dataset with another char map are compared by character (see :func:`fit_warning`).
    ``read(model, x, char_map, device)`` reads a batch (default ``inference.read``;
    ``evaluate.py --lexicon`` passes the lexicon's reader).
    """
    from chainer_see.progress import Progress

    cfg = model.config
    char_map = cfg.get_char_map()
    V = cfg.views
    report = report or (lambda text: sys.stderr.write(text + '\n'))
    ev = Evaluation()
    ev.views_match = getattr(dataset, 'num_views', 1) == V
    ev.views = V
    data_map = getattr(dataset, 'char_map', None)
    relabel = None if data_map is None or data_map == char_map else Relabel(data_map, char_map)
    truth_map = char_map if relabel is None else relabel.truth_map
    chunks = [list(range(s, min(s + batch_size, len(dataset))))
              for s in range(0, len(dataset), batch_size)]
    ids_all, lab_all, boxes_all, wc_all, c_all = [], [], [], [], []
    bar = Progress(total=len(dataset), desc='evaluate', enabled=show_progress, unit='img')
    with concurrent.futures.ThreadPoolExecutor(1) as pool, bar:
        future = pool.submit(_load_batch, dataset, chunks[0], skip_bad, report) if chunks else None
        for k in range(len(chunks)):
            kept, x, labels, tboxes = future.result()
            if k + 1 < len(chunks):
                future = pool.submit(_load_batch, dataset, chunks[k + 1], skip_bad, report)
            ev.skipped += len(chunks[k]) - len(kept)
            if kept:
                if relabel is not None:
                    labels = relabel(labels)
                r = (read or inference.read)(model, x, char_map, device)
                ids_all.append(r.ids)
                lab_all.append(labels)
                boxes_all.append(r.boxes)
                wc_all.append(r.word_confidences)
                c_all.append(r.confidences)
                ev.words.extend(r.words)
                ev.label_words.extend(metrics.decode(labels, truth_map))
                for j, i in enumerate(kept):
                    ev.indices.append(i)
                    ev.names.append(example_name(dataset, dataset_name, i))
                    tb = tboxes[j]
                    if tb is None or not ev.views_match:
                        ev.ious.append(None)
                    else:
                        ev.ious.append(reading_order_ious(r.boxes[j], tb, labels[j], V))
            bar.update(len(chunks[k]))
    if not ids_all:
        raise DataError(dataset_name, None, 'no image could be evaluated')
    pred = numpy.concatenate(ids_all)
    lab = numpy.concatenate(lab_all)
    n, t = max(pred.shape[1], lab.shape[1]), max(pred.shape[2], lab.shape[2])
    ev.pred_ids, ev.labels = _pad(pred, n, t), _pad(lab, n, t)
    ev.boxes = numpy.concatenate(boxes_all)
    ev.word_confidences = numpy.concatenate(wc_all)
    ev.confidences = numpy.concatenate(c_all)
    ev.figures = figures(ev)
    return ev


def _nan_to_none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def figures(ev):
    """The report's figures of an :class:`Evaluation` (floats, ``None`` where undefined):
    ``sequence_accuracy``, ``word_accuracy``, ``char_accuracy``, ``edit_distance``,
    ``mean_iou``, ``iou50``, ``accuracy`` (published), and the counts ``images``,
    ``words`` (true words), ``boxes_compared`` (IoUs taken), ``skipped``; ``by_word``:
    per word position in reading order (:func:`by_word`)."""
    m = metrics.evaluate(ev.pred_ids, ev.labels)
    out = {k: _nan_to_none(m[k]) for k in ('sequence_accuracy', 'word_accuracy',
                                           'char_accuracy', 'edit_distance', 'accuracy')}
    known = [a for a in ev.ious if a is not None]
    all_ious = numpy.concatenate(known) if known else numpy.zeros(0)
    out['mean_iou'] = float(all_ious.mean()) if len(all_ious) else None
    out['iou50'] = float((all_ious >= 0.5).mean()) if len(all_ious) else None
    out['images'] = int(len(ev.indices))
    out['words'] = int((ev.labels != 0).any(axis=-1).sum())
    out['boxes_compared'] = int(len(all_ious))
    out['skipped'] = int(ev.skipped)
    out['by_word'] = by_word(ev)
    return out


def by_word(ev):
    """Per word position ``k`` in reading order (the ``k``-th word of an image, the one
    region ``k`` is meant to find): ``words`` (images with a ``k``-th word),
    ``word_accuracy`` (share of them read right), ``mean_iou`` and ``iou50`` (over the
    images with true boxes, ``None`` without; a word's V views averaged).  Shows a
    region that fails where the means hide it (three regions right, one on nothing)."""
    rows = []
    for j, (pred, truth) in enumerate(zip(ev.words, ev.label_words)):
        pred = list(pred) + [''] * (len(truth) - len(pred))    # slots the model lacks
        words = [(p, t) for p, t in zip(pred, truth) if t]
        ious = ev.ious[j] if j < len(ev.ious) else None
        per_word = (None if ious is None
                    else numpy.asarray(ious).reshape(len(words), -1).mean(axis=1))
        for k, (p, t) in enumerate(words):
            while len(rows) <= k:
                rows.append(([], []))
            rows[k][0].append(p == t)
            if per_word is not None:
                rows[k][1].append(per_word[k])
    return [dict(words=len(right), word_accuracy=float(numpy.mean(right)),
                 mean_iou=float(numpy.mean(ious)) if ious else None,
                 iou50=float(numpy.mean(numpy.asarray(ious) >= 0.5)) if ious else None)
            for right, ious in rows]

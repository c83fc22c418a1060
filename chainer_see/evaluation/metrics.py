"""Decoding and text metrics of SEE predictions (pure NumPy on class ids).

Arrays: ``pred`` and ``labels`` are integer class ids ``(B, N, T)`` (N word slots of T
characters, class 0 = blank); ``pred`` may also be logits ``(B, N, T, K)`` (its argmax is
taken) or the ``'ctc'`` head's column logits ``(B, N, 2T + 1, K)``, which are read by
CTC best-path decoding (``ctc_decode.ctc_ids``) into the same ``(B, N, T)`` layout:
:func:`predictions` with ``head='ctc'`` does it, and the functions given labels do it
by themselves when the logits have ``2T + 1`` steps for labels of T.  Variables and
CuPy arrays are moved to NumPy first.

Decoding (paper/code): per step the argmax class; every blank is dropped wherever it
occurs, also in the middle of a word (``[3, 0, 4]`` reads like ``[3, 4]``); the rest maps
to characters through the char map.  A word slot is *empty* when it holds only blanks.

Definitions (all counts are over the whole batch):

* ``word_correct[b, n]``: decoded prediction == decoded label.  An empty predicted slot
  is right exactly when the label slot is empty too.
* **sequence accuracy**: share of images whose N slots are all correct, empty slots
  included: a word predicted where the label has none makes the image wrong (Table 2:
  every word of the image right).
* **word accuracy**: share of correct slots among the slots whose *label* is non-empty
  (words that exist); ``nan`` when the batch has no word.
* **published accuracy** (per-slot accuracy; ``accuracy`` in :func:`evaluate`,
  ``slot_accuracy`` in the training log): the published code's figure, the mean over
  word slots of the share of right words, empty slots counted (an empty slot predicted
  empty is right).  With one word per image it equals sequence accuracy.  This is the
  accuracy that scales the area weight of the loss.
* **char accuracy**: over slots where label or prediction is non-empty, the decoded
  strings are compared position by position (after dropping blanks); matches are
  divided by the sum of ``max(len(label), len(prediction))``, so missing and extra
  characters both count as errors; ``nan`` when every slot is empty in both.
* **normalized edit distance**: Levenshtein distance of the decoded strings divided by
  ``max(len(label), len(prediction))``, averaged over the same slots (in ``[0, 1]``,
  0 = all right); ``nan`` when every slot is empty in both.
"""
import numpy

import chainer

from chainer_see.evaluation.ctc_decode import ctc_ids

BLANK = 0


def to_numpy(a):
    """Variable / CuPy / NumPy -> NumPy array."""
    if isinstance(a, chainer.Variable):
        a = a.array
    if not isinstance(a, numpy.ndarray) and hasattr(a, 'get'):
        a = a.get()
    return numpy.asarray(a)


def predictions(pred_or_logits, head=None, num_chars=None):
    """Logits -> ids ``(..., T)``; id arrays pass through.  The one place that turns a
    SEE model's logits into the class ids every metric reads.

    Args:
        pred_or_logits: ids ``(..., T)``, logits ``(..., T, K)`` of the ``'lstm'`` and
            ``'independent'`` heads (argmax per step), or, with ``head='ctc'``, column
            logits ``(B, N, W, K)`` (best-path decoding, :func:`ctc_decode.ctc_ids`).
        head: ``config.head`` of the model that made the logits (``None``: not ctc).
        num_chars: T of the ctc ids (default ``(W - 1) // 2``, the T of a ctc head's
            ``W = 2T + 1`` columns).
    """
    a = to_numpy(pred_or_logits)
    if a.dtype.kind == 'f':
        if head == 'ctc':
            T = (a.shape[-2] - 1) // 2 if num_chars is None else num_chars
            return ctc_ids(a, max(int(T), 1))
        return a.argmax(axis=-1).astype(numpy.int32)
    return a.astype(numpy.int32, copy=False)


def _ids_pair(pred, labels):
    lab = to_numpy(labels).astype(numpy.int32, copy=False)
    a = to_numpy(pred)
    T = lab.shape[-1] if lab.ndim else 0
    ctc = (a.dtype.kind == 'f' and a.ndim == 4 and lab.ndim == 3
           and a.shape[-2] == 2 * T + 1 and a.shape[-2] != T)
    p = predictions(a, head='ctc' if ctc else None, num_chars=T)
    if p.shape != lab.shape:
        raise ValueError('predictions %s and labels %s differ in shape (both must be (B, N, T))'
                         % (p.shape, lab.shape))
    return p, lab


def strip_blanks(ids):
    """Move the non-blank ids of every word (last axis) to the front, blanks to the end.

    Two words decode to the same text iff their stripped arrays are equal.
    Returns ``(stripped ids, lengths)`` with lengths of shape ``ids.shape[:-1]``.
    """
    ids = numpy.asarray(ids)
    order = numpy.argsort(ids == BLANK, axis=-1, kind='stable')
    stripped = numpy.take_along_axis(ids, order, axis=-1)
    return stripped, (ids != BLANK).sum(axis=-1)


def word_correct(pred, labels):
    """``(B, N)`` bool: slot n of image b decodes to its label (see module docstring)."""
    p, lab = _ids_pair(pred, labels)
    ps, _ = strip_blanks(p)
    ls, _ = strip_blanks(lab)
    return (ps == ls).all(axis=-1)


def sequence_accuracy(pred, labels):
    """Share of images with every word slot right (empty slots included)."""
    c = word_correct(pred, labels)
    return float(c.all(axis=1).mean()) if c.size else float('nan')


def word_accuracy(pred, labels):
    """Share of right words among the label slots that hold a word."""
    p, lab = _ids_pair(pred, labels)
    c = word_correct(p, lab)
    present = (lab != BLANK).any(axis=-1)
    n = int(present.sum())
    return float(c[present].sum()) / n if n else float('nan')


def published_accuracy(pred, labels):
    """Mean over slots of the share of right words, empty slots counted (published)."""
    c = word_correct(pred, labels)
    return float(c.mean()) if c.size else float('nan')


def char_accuracy(pred, labels):
    """Position-wise matches / sum of max lengths, over non-empty slots (see module doc)."""
    p, lab = _ids_pair(pred, labels)
    ps, pl = strip_blanks(p)
    ls, ll = strip_blanks(lab)
    longest = numpy.maximum(pl, ll)
    total = int(longest.sum())
    if total == 0:
        return float('nan')
    T = p.shape[-1]
    valid = numpy.arange(T) < numpy.minimum(pl, ll)[..., None]
    return float(((ps == ls) & valid).sum()) / total


def edit_distances(pred, labels):
    """Levenshtein distances ``(B, N)`` between decoded predictions and labels.

    Vectorized over all words: the dynamic-programming table is filled for every word
    at once, ``T x T`` NumPy steps.
    """
    p, lab = _ids_pair(pred, labels)
    ps, pl = strip_blanks(p)
    ls, ll = strip_blanks(lab)
    shape = p.shape[:-1]
    T = p.shape[-1]
    ps = ps.reshape(-1, T)
    ls = ls.reshape(-1, T)
    M = ps.shape[0]
    # prev[j] = distance(prediction[:i], label[:j]); rows over i, columns over j
    prev = numpy.broadcast_to(numpy.arange(T + 1), (M, T + 1)).copy()
    table = [prev]
    for i in range(1, T + 1):
        cur = numpy.empty_like(prev)
        cur[:, 0] = i
        for j in range(1, T + 1):
            sub = prev[:, j - 1] + (ps[:, i - 1] != ls[:, j - 1])
            cur[:, j] = numpy.minimum(numpy.minimum(prev[:, j] + 1, cur[:, j - 1] + 1), sub)
        table.append(cur)
        prev = cur
    table = numpy.stack(table, axis=1)               # (M, T+1, T+1)
    d = table[numpy.arange(M), pl.reshape(-1), ll.reshape(-1)]
    return d.reshape(shape)


def normalized_edit_distance(pred, labels):
    """Mean of ``edit distance / max(len(label), len(prediction))`` over non-empty slots."""
    p, lab = _ids_pair(pred, labels)
    _, pl = strip_blanks(p)
    _, ll = strip_blanks(lab)
    longest = numpy.maximum(pl, ll)
    mask = longest > 0
    if not mask.any():
        return float('nan')
    d = edit_distances(p, lab)
    return float((d[mask] / longest[mask]).mean())


def evaluate(pred, labels):
    """All metrics in a dict: ``sequence_accuracy``, ``word_accuracy``, ``accuracy``
    (published), ``char_accuracy``, ``edit_distance`` (normalized)."""
    p, lab = _ids_pair(pred, labels)
    return {
        'sequence_accuracy': sequence_accuracy(p, lab),
        'word_accuracy': word_accuracy(p, lab),
        'accuracy': published_accuracy(p, lab),
        'char_accuracy': char_accuracy(p, lab),
        'edit_distance': normalized_edit_distance(p, lab),
    }


def decode(ids, char_map, head=None):
    """Ids ``(..., T)`` (or logits ``(..., T, K)``) -> nested lists of strings ``(...)``.

    ``char_map`` is a ``CharMap`` (``config.get_char_map()``); blanks are dropped.
    ``head='ctc'``: the logits are a ctc head's columns ``(B, N, W, K)``
    (:func:`predictions`).
    """
    a = predictions(ids, head=head)
    if a.ndim == 1:
        return char_map.decode(a)
    return [decode(row, char_map) for row in a]


def labels_to_text(labels, char_map, separator=None):
    """Labels ``(B, N, T)`` -> per image the list of its N words, or with a ``separator``
    (e.g. ``' '``) one string per image made of its non-empty words."""
    words = decode(labels, char_map)
    if separator is None:
        return words
    return [separator.join(w for w in ws if w) for ws in words]

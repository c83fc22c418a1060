"""CTC decoding and a NumPy reference of the CTC loss, for a CRNN-style column reader.

Conventions: per-column scores have shape ``(B, W, K)`` (``W`` columns, i.e. time steps,
and ``K`` classes) or ``(W, K)`` for one item; class 0 is the blank, the same class as
the blank of the char maps (:mod:`chainer_see.data.char_map`).  A label is a list of
class ids without blanks; a batch of labels is an int array ``(B, T)`` padded with the
blank.

- :func:`greedy_decode`: best path (argmax per column, repeats collapsed, blanks dropped).
- :func:`ctc_ids`: best paths of SEE's ``(B, N, W, K)`` column logits in the ``(B, N, T)``
  id layout every metric uses.
- :func:`sequence_log_probability`: ``log p(label | x)`` by the CTC forward algorithm.
- :func:`confidence`: ``p(label | x)``, the confidence of a read word.
- :func:`ctc_loss_numpy`: mean negative log-likelihood of a batch (the reference).
- :func:`chainer_ctc_loss`: the same loss through
  :func:`chainer.functions.connectionist_temporal_classification` (differentiable).

The forward algorithm (Graves et al., 2006) runs over the blank-extended label
``l' = (blank, l1, blank, l2, ..., lL, blank)`` of length ``2L + 1``.  At each column a
state may stay where it is, advance by one, or skip the blank between two *different*
labels; the label probability is the sum of the final column's last two states (the last
label or the trailing blank).  A label needs at least ``L + r`` columns, ``r`` the number
of equal adjacent pairs (each such pair needs a blank between them).
"""
import numpy

import chainer
import chainer.functions as F

BLANK = 0


def _to_numpy(a):
    if isinstance(a, chainer.Variable):
        a = a.array
    return chainer.backend.CpuDevice().send(a)


def log_softmax(x, axis=-1):
    """Numerically stable ``log(softmax(x))`` of a NumPy array along ``axis``.

    Rows that already are log-probabilities come back unchanged (up to rounding), so the
    functions of this module accept logits as well as log-probabilities.
    """
    x = numpy.asarray(x, dtype=numpy.float64)
    m = numpy.max(x, axis=axis, keepdims=True)
    m = numpy.where(numpy.isfinite(m), m, 0.0)
    shifted = x - m
    return shifted - numpy.log(numpy.sum(numpy.exp(shifted), axis=axis, keepdims=True))


def greedy_decode(logits_or_probs):
    """Best-path decoding of ``(B, W, K)`` scores (logits, probabilities or log-probs).

    Per column the argmax class; runs of the same class collapse to one; blanks are then
    dropped.  A blank between two equal classes separates them, so ``[1, 0, 1]`` reads
    ``[1, 1]`` while ``[1, 1]`` reads ``[1]``.  A ``(W, K)`` array is taken as a batch of one.

    Returns:
        list of list of int: the class ids of each batch item (empty when all blank).
    """
    scores = _to_numpy(logits_or_probs)
    if scores.ndim == 2:
        scores = scores[None]
    if scores.ndim != 3:
        raise ValueError('greedy_decode expects (B, W, K) scores, got shape %s'
                         % (scores.shape,))
    best = numpy.argmax(scores, axis=2)
    out = []
    for row in best:
        ids = []
        prev = None
        for c in row.tolist():
            if c != prev and c != BLANK:
                ids.append(c)
            prev = c
        out.append(ids)
    return out


def ctc_ids(logits, num_chars):
    """Greedy (best-path) reading of column logits ``(B, N, W, K)`` (the ``'ctc'`` head's
    ``SEE`` output) -> int32 ids ``(B, N, T)``, ``T = num_chars``: per word slot the
    decoded labels (:func:`greedy_decode`: repeats collapsed, blanks dropped) moved to the
    front, padded with the blank to T; a reading longer than T is cut to its first T
    characters.  This is the layout of the other heads' argmax ids, so the metrics and
    the char map's ``decode`` read it as they read those.  Variables and CuPy arrays
    are accepted (the result is NumPy).
    """
    scores = _to_numpy(logits)
    if scores.ndim != 4:
        raise ValueError('ctc_ids expects (B, N, W, K) logits, got shape %s'
                         % (scores.shape,))
    T = int(num_chars)
    if T < 1:
        raise ValueError('num_chars must be >= 1, got %d' % T)
    B, N, W, K = scores.shape
    out = numpy.full((B, N, T), BLANK, dtype=numpy.int32)
    if B * N == 0:
        return out
    for i, label in enumerate(greedy_decode(scores.reshape(B * N, W, K))):
        label = label[:T]
        out.reshape(B * N, T)[i, :len(label)] = label
    return out


def _strip_blanks(label):
    return [int(c) for c in numpy.asarray(label).reshape(-1).tolist() if int(c) != BLANK]


def min_columns(label):
    """Fewest columns that can emit ``label``: its length plus its equal adjacent pairs."""
    label = list(label)
    repeats = sum(1 for a, b in zip(label, label[1:]) if a == b)
    return len(label) + repeats


def sequence_log_probability(log_probs, label):
    """``log p(label | x)`` of one item by the CTC forward algorithm in log space.

    Args:
        log_probs (array ``(W, K)``): per-column log-probabilities (logits are accepted:
            they are normalized by :func:`log_softmax`, which leaves log-probabilities
            as they are).
        label (sequence of int): class ids, no blanks (blank 0 must not occur).

    Returns:
        float: the log-probability summed over every alignment of ``label``; for an empty
        label the log-probability of the all-blank path; ``-inf`` when ``label`` needs
        more columns than ``W`` (see :func:`min_columns`).
    """
    lp = log_softmax(_to_numpy(log_probs), axis=-1)
    if lp.ndim != 2:
        raise ValueError('log_probs must be (W, K), got shape %s' % (lp.shape,))
    label = [int(c) for c in label]
    if any(c == BLANK for c in label):
        raise ValueError('a CTC label must not contain the blank (class %d): %r'
                         % (BLANK, label))
    n_cols, n_classes = lp.shape
    if any(c < 0 or c >= n_classes for c in label):
        raise ValueError('label %r has a class outside 0..%d' % (label, n_classes - 1))
    if n_cols == 0:
        return 0.0 if not label else -numpy.inf
    if min_columns(label) > n_cols:
        return -numpy.inf

    ext = [BLANK]
    for c in label:
        ext.extend([c, BLANK])
    ext = numpy.asarray(ext)
    n_states = len(ext)
    # A state s may be entered from s - 2 when it holds a label that differs from the
    # label at s - 2 (i.e. skipping the blank between two different labels).
    can_skip = numpy.zeros(n_states, dtype=bool)
    can_skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])

    alpha = numpy.full(n_states, -numpy.inf)
    alpha[0] = lp[0, BLANK]
    if n_states > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, n_cols):
        prev = alpha
        stay = prev
        step = numpy.concatenate([[-numpy.inf], prev[:-1]])
        skip = numpy.full(n_states, -numpy.inf)
        skip[2:] = numpy.where(can_skip[2:], prev[:-2], -numpy.inf)
        alpha = numpy.logaddexp(numpy.logaddexp(stay, step), skip) + lp[t, ext]
    if n_states == 1:
        return float(alpha[0])
    return float(numpy.logaddexp(alpha[-1], alpha[-2]))


def confidence(log_probs, label):
    """``p(label | x)`` (in ``[0, 1]``): the word confidence of ``label`` under the columns."""
    return float(numpy.exp(sequence_log_probability(log_probs, label)))


def _labels_from_padding(labels):
    """``(B, T)`` blank-padded ids -> list of blank-free labels (blanks dropped anywhere,
    as :meth:`CharMap.decode` drops them)."""
    labels = _to_numpy(labels)
    if labels.ndim != 2:
        raise ValueError('labels must be (B, T), got shape %s' % (labels.shape,))
    return [_strip_blanks(row) for row in labels]


def ctc_loss_numpy(logits, labels):
    """Mean over the batch of ``-log p(label | x)`` (the reference CTC loss, float64).

    Args:
        logits (array ``(B, W, K)``): per-column scores (softmax is applied here).
        labels (int array ``(B, T)``): class ids padded with the blank; the blanks are
            dropped wherever they are, the rest is the label (an all-blank row is the
            empty label).

    Returns:
        float: the mean loss; ``inf`` if some label does not fit in ``W`` columns.
    """
    logits = _to_numpy(logits)
    if logits.ndim != 3:
        raise ValueError('logits must be (B, W, K), got shape %s' % (logits.shape,))
    rows = _labels_from_padding(labels)
    if len(rows) != logits.shape[0]:
        raise ValueError('%d label rows for a batch of %d' % (len(rows), logits.shape[0]))
    losses = [-sequence_log_probability(lp, label) for lp, label in zip(logits, rows)]
    return float(numpy.mean(losses))


def chainer_ctc_loss(logits, labels, reduce='mean'):
    """The CTC loss of ``(B, W, K)`` logits through Chainer's CTC (differentiable in ``logits``).

    Calls :func:`chainer.functions.connectionist_temporal_classification` with the list of
    the ``W`` per-column ``(B, K)`` slices, ``blank_symbol=0``, every ``input_length``
    equal to ``W``, and the labels moved to the front of each row (blanks dropped, as in
    :func:`ctc_loss_numpy`) with ``label_length`` their count.  ``reduce='mean'``: Chainer
    divides the sum of the per-item losses by the batch size ``B`` (not by the label
    lengths), so the value equals :func:`ctc_loss_numpy`.

    Empty labels: Chainer's CTC handles ``label_length == 0`` itself (the extended label is
    the single blank state, the loss is ``-log`` of the all-blank path, and the gradient
    is that of this path), also when every label of the batch is empty; nothing special
    is done for them here.

    Labels that do not fit: for a label needing more than ``W`` columns Chainer returns
    its log-space "zero" (``1e10``, ``1e4`` in float16) as a finite loss instead of
    ``inf``; this function raises ``ValueError`` naming the item instead.

    Args:
        logits (:class:`~chainer.Variable` or array ``(B, W, K)``, float): column scores.
        labels (int array ``(B, T)``, NumPy or CuPy): class ids padded with the blank.
        reduce (str): ``'mean'`` (the scalar mean) or ``'no'`` (the ``(B,)`` losses
            ``-log p(label_b | x_b)``, e.g. for per-slot weights).

    Returns:
        ~chainer.Variable: the scalar mean loss, or ``(B,)`` with ``reduce='no'``.
    """
    if reduce not in ('mean', 'no'):
        raise ValueError("reduce must be 'mean' or 'no', got %r" % (reduce,))
    if not isinstance(logits, chainer.Variable):
        logits = chainer.Variable(logits)
    if logits.ndim != 3:
        raise ValueError('logits must be (B, W, K), got shape %s' % (logits.shape,))
    n_batch, n_cols, _ = logits.shape
    rows = _labels_from_padding(labels)
    if len(rows) != n_batch:
        raise ValueError('%d label rows for a batch of %d' % (len(rows), n_batch))
    for b, label in enumerate(rows):
        if min_columns(label) > n_cols:
            raise ValueError('label %d (%r) needs %d columns, the input has %d'
                             % (b, label, min_columns(label), n_cols))
    width = max([len(label) for label in rows] + [0])
    t = numpy.full((n_batch, width), BLANK, dtype=numpy.int32)
    for b, label in enumerate(rows):
        t[b, :len(label)] = label
    label_length = numpy.asarray([len(label) for label in rows], dtype=numpy.int32)
    input_length = numpy.full(n_batch, n_cols, dtype=numpy.int32)
    xp = chainer.backend.get_array_module(logits)
    if xp is not numpy:
        t, label_length, input_length = (xp.asarray(a) for a in (t, label_length,
                                                                 input_length))
    columns = list(F.separate(logits, axis=1))
    return F.connectionist_temporal_classification(
        columns, t, BLANK, input_length=input_length, label_length=label_length,
        reduce=reduce)

"""The SEE loss: per-character cross-entropy plus the grid regularizers of Eq. 7.

``SEELoss(...)(output, labels)`` with ``output`` a ``SEEOutput`` (logits ``(B, N, T, K)``,
grids ``(B, N*V, 2, Ho, Wo)``) and ``labels`` int32 ``(B, N, T)`` returns
``(loss Variable, parts)``; ``parts`` is a dict of floats for reporting: ``loss``,
``text``, ``slot_accuracy`` (the published per-slot accuracy of this batch) and, with
regularizers, ``area_weight`` (the lambda1 used) and the mean of each regularizer over
batch, slots and views; with box labels (``loss(output, labels, boxes, box_mask)``,
the box term below) also ``box``.  Everything is vectorized over batch, regions, views and
characters (no Python loop over samples or word slots).

``CE[b, n, t]`` is the cross-entropy of one character.  Blanks (class 0) are ordinary
targets: they pad short words and empty slots, as in the published code.  ``w_n`` are
the per-word weights (``word_weights``, code FSNS: 1, 1.25, 2, 1.25; all 1 when
``None``).

**Mode** ``'fsns'``: the published FSNS loss (``LossMetrics.calc_loss`` of the code,
term by term).  For every grid (one per sample, slot and view), from three of its
corners in pixels of the view (``Hv x Wv``), ``x = (g_x + 1) / 2 * Wv``,
``y = (g_y + 1) / 2 * Hv`` (the view's size, not size - 1): top-left ``grid[0, 0]``,
top-right ``grid[0, Wo-1]``, bottom-left ``grid[Ho-1, 0]``;

* ``width`` = Euclidean distance top-left .. top-right, ``height`` = top-left ..
  bottom-left (the sides of the sampled parallelogram, not of an axis-aligned hull);
* ``area = width * height / (Wv * Hv)``;
* ``aspect = max(height / max(width, 1) - 0.5, 0)``;
* ``direction = max(y_tl - y_bl, 0) + max(x_tl - x_tr, 0)``, in pixels;
* ``height`` (the hinge, ``height_hinge`` pixels, code 10) ``= max(hinge - height, 0)``;
* ``outside`` (this project's, see below; 0 by default);
* ``width = width / Wv`` (this project's, see below; 0 by default).

Each term is averaged over the batch, weighted, and **summed over the V views** of the
slot: ``R_n = sum_v (lambda1 area + aspect_weight aspect + direction_weight direction
+ height_weight height + outside_weight outside + width_weight width)``; then
``loss = mean_n w_n (sum_t mean_b CE[b, n, t] + R_n)``.

**Modes** ``'svhn'`` and ``'paper'`` measure the grid as this project did first (the
"hull" geometry; the published SVHN configuration has no regularizers at all, so
nothing published fixes it): the box is the axis-aligned hull of the grid's four
corners (``grid_to_boxes``; tied corners share the gradient) in pixel-centre
coordinates (``(g + 1) / 2 * (size - 1)``), ``area`` = hull area / ``((Hv-1)(Wv-1))``,
``aspect`` from the hull's sides, ``direction`` in grid units (the view spans
[-1, 1]), and each term is averaged (not summed) over the V views of a slot, giving
``R_n[b]``:

* ``'svhn'`` (published SVHN experiments): ``sum_n w_n (mean_{b,t} CE[b, n, t] +
  mean_b R_n[b])``; the published configuration is text only (``SEELoss.preset``).
* ``'paper'`` (Eq. 8, per image, then the batch mean):
  ``mean_b sum_n w_n (sum_t CE[b, n, t] + R_n[b])``.

**The** ``'ctc'`` **head** (issue 20): its logits have ``W = 2T + 1`` column steps for
labels of T (``(B, N, 2T + 1, K)``); the loss sees this (or is told, ``head='ctc'``) and
its text term is CTC instead of the cross-entropy: ``NLL[b, n] = -log p(label[b, n] |
columns[b, n])`` (``ctc_decode.chainer_ctc_loss`` over the B*N slots, ``reduce='no'``;
the label's blanks dropped, an empty slot's label the all-blank path).  ``NLL[b, n]``
is a whole word's loss, and it takes the place of the word's character losses in each
mode: ``'svhn'`` ``sum_n w_n mean_b NLL[b, n]`` (the batch mean per slot, slots summed
with their weights, as svhn combines its slots; there is no character axis to average
over), ``'paper'`` the same (``sum_t CE`` replaced by ``NLL``), ``'fsns'``
``mean_n w_n mean_b NLL[b, n]``.  The regularizers and the box term are unchanged, and
``slot_accuracy`` is taken on the best-path reading (``ctc_decode.ctc_ids``).

In every mode:

* ``lambda1 = area_weight + area_accuracy_scale * accuracy``, the accuracy being the
  published per-slot accuracy (``metrics.published_accuracy``) of the **previous** call
  (code: the accuracy is computed after the loss and sets the factor for the next
  call; before the first call it counts as 0).  The loss object keeps it
  (``last_accuracy``); validation calls update it as well, as in the code.
* ``outside`` (this project's, neither paper nor code): how far the grid's four
  corners lie outside the view, ``mean_corners (max(0, |x| - 1) + max(0, |y| - 1))``
  in grid units.  A grid is convex, so it lies inside the view exactly when this is
  0.  It closes the escape of a localization trained against a frozen reader: moving
  every box off the image, where the reader sees black (docs/results.md, section 3).
* ``width`` (this project's, neither paper nor code; ``width_weight``): the box's width
  as a share of the view's (hull geometry: ``width / (Wv - 1)``).  The area term pulls
  on each side in proportion to the other (``d area / d height = width``), so on a box
  wider than tall it shrinks the height, which the reader needs, faster than the width,
  which a short number does not: text-only runs on the random set kept boxes twice as
  wide as their numbers and 1.1 times as tall (docs/results.md, section 9).  The width
  term pulls the width alone, at a constant rate, until the reader needs it.

**Box term** (``box_weight``, ``train.py --box-fraction F --box-weight W``; this
project's, neither paper nor code): ``loss(output, labels, boxes, box_mask)`` with the
true word boxes of the images that carry them (``boxes`` float32 ``(B, N*V, 4)``
``(x_min, y_min, x_max, y_max)`` in pixels of the model input, region-major like the
model's output; ``box_mask`` ``(B, N*V)``, 1 where region ``m`` has a true box).  Region
``k`` is matched to word ``k`` in reading order, slot by slot, as the text labels are.
For every boxed region, the grid's four corners (``grid[0, 0]``, ``grid[0, Wo-1]``,
``grid[Ho-1, Wo-1]``, ``grid[Ho-1, 0]``, grid units of its view) are compared with the
true box's corners (top-left, top-right, bottom-right, bottom-left), converted to grid
units of the view (``g = 2 p / (size - 1) - 1``, the view's x offset ``v * Wv``
removed) by smooth-L1 with ``beta = BOX_BETA``::

    s(d) = 0.5 d^2 / beta  if |d| < beta,  else |d| - 0.5 beta
    box_region = mean over the 4 corners x (x, y) of s(grid corner - true corner)
    box_image[b] = mean over the image's boxed regions (0 for an image without boxes)
    box = mean_b box_image[b];   loss = (the mode's loss above) + box_weight * box

``box`` is reported as ``parts['box']`` (``main/box``); images without boxes add 0 and
no gradient, so with a fraction F of boxed images the term averages about F times the
error of a boxed image.  Why smooth-L1 on the corners and not ``1 - IoU``: the IoU of
boxes that do not overlap is 0 whatever their distance, so ``1 - IoU`` gives no
gradient exactly when it matters, at the start, when a region sits on the wrong word or
on none; smooth-L1 pulls every corner toward its target with a gradient of size 1 per
grid unit however far it is (quadratic only within ``beta``, so it settles without
jitter), reaches all four corners (the hull of ``grid_to_boxes`` sends a box side's
gradient only to its extreme corners), and also penalizes a rotated or sheared grid,
whose corners cannot meet an axis-aligned box's.  Grid units make it independent of the
image size.  Without ``boxes`` (validation, or ``box_weight`` unused) nothing changes:
the loss and its parts are exactly those of the mode.
"""
import numpy

import chainer
import chainer.functions as F
from chainer import backend

from chainer_see.evaluation import metrics
from chainer_see.evaluation.ctc_decode import chainer_ctc_loss
from chainer_see.evaluation.ctc_decode import ctc_ids
from chainer_see.training.grid_terms import box_loss, corner_regularizers, grid_regularizers

MODES = ('svhn', 'fsns', 'paper')
FSNS_WORD_WEIGHTS = (1.0, 1.25, 2.0, 1.25)
#: the svhn presets' loss: text only (the published SVHN configuration)
_TEXT_ONLY = dict(mode='svhn')
#: the published FSNS loss with ``train_fsns.py``'s defaults (``SEELoss.preset``)
_PUBLISHED_FSNS = dict(mode='fsns', area_weight=0.0, area_accuracy_scale=2.0,
                       aspect_weight=0.0, direction_weight=1.0, height_hinge=10.0,
                       height_weight=1.0, word_weights=FSNS_WORD_WEIGHTS)
#: ``SEELoss`` arguments of each loss preset (``SEELoss.preset`` copies them)
LOSS_PRESETS = {'svhn': _TEXT_ONLY, 'svhn-grid': _TEXT_ONLY,
                'fsns': _PUBLISHED_FSNS, 'fsns-paper': _PUBLISHED_FSNS}


class SEELoss(object):
    """Callable SEE loss; see the module docstring for the exact formulas.

    Args:
        mode: ``'fsns'`` (the published FSNS loss), ``'svhn'`` or ``'paper'``: how the
            grids are measured and the parts combined.
        view_size: ``(H, W)`` of one view (``config.view_size``); needed for the
            regularizers (they are in pixels of the view / units of the view).
        area_weight: lambda1 (its base value when ``area_accuracy_scale`` > 0).
        area_accuracy_scale: lambda1 = area_weight + scale * the previous call's slot
            accuracy (code: 2); 0 = fixed.
        aspect_weight: lambda2.
        direction_weight: weight of the direction regularizer (Eq. 7: 1).
        height_hinge: minimum box height in pixels (code FSNS: 10) or ``None`` (off).
        height_weight: weight of the height hinge.
        outside_weight: weight of the corners-outside-the-view penalty (0: off).
        width_weight: weight of the box-width penalty (module docstring; 0: off).
        word_weights: per word-slot weights, at least N of them, or ``None`` (all 1).
        box_weight: weight of the box term (module docstring) on the calls that pass
            true boxes; it needs ``view_size``.  The term is added whatever the mode and
            changes nothing on calls without boxes.
        head: ``'ctc'``: the logits are a ctc head's columns (CTC text term, module
            docstring); ``None`` (default): ctc exactly when the logits have ``2T + 1``
            steps for labels of T; any other head: cross-entropy.
    """

    def __init__(self, mode='svhn', view_size=None, area_weight=0.0, area_accuracy_scale=0.0,
                 aspect_weight=0.0, direction_weight=0.0, height_hinge=None,
                 height_weight=1.0, outside_weight=0.0, word_weights=None, box_weight=0.0,
                 head=None, width_weight=0.0):
        if mode not in MODES:
            raise ValueError('SEELoss mode must be one of %s, got %r' % (MODES, mode))
        for name, v in (('area_weight', area_weight),
                        ('area_accuracy_scale', area_accuracy_scale),
                        ('aspect_weight', aspect_weight),
                        ('direction_weight', direction_weight),
                        ('height_weight', height_weight),
                        ('outside_weight', outside_weight),
                        ('width_weight', width_weight),
                        ('box_weight', box_weight)):
            if not isinstance(v, (int, float)) or v < 0:
                raise ValueError('SEELoss.%s must be a number >= 0, got %r' % (name, v))
        if height_hinge is not None and (not isinstance(height_hinge, (int, float))
                                         or height_hinge < 0):
            raise ValueError('SEELoss.height_hinge must be None or pixels >= 0, got %r'
                             % (height_hinge,))
        self.mode = mode
        self.view_size = None if view_size is None else tuple(int(v) for v in view_size)
        self.area_weight = float(area_weight)
        self.area_accuracy_scale = float(area_accuracy_scale)
        self.aspect_weight = float(aspect_weight)
        self.direction_weight = float(direction_weight)
        self.height_hinge = None if height_hinge is None else float(height_hinge)
        self.height_weight = float(height_weight)
        self.outside_weight = float(outside_weight)
        self.width_weight = float(width_weight)
        self.word_weights = None if word_weights is None else tuple(float(w) for w in word_weights)
        self.box_weight = float(box_weight)
        self.head = head
        #: the published per-slot accuracy of the last call; it scales the next lambda1
        self.last_accuracy = None
        if self.uses_regularizers and self.view_size is None:
            raise ValueError('SEELoss needs view_size=(H, W) of one view (config.view_size) '
                             'when regularizers are enabled')
        if self.box_weight and self.view_size is None:
            raise ValueError('SEELoss needs view_size=(H, W) of one view (config.view_size) '
                             'for the box term (box_weight > 0)')

    @property
    def uses_regularizers(self):
        return bool(self.area_weight or self.area_accuracy_scale or self.aspect_weight
                    or self.direction_weight or self.outside_weight or self.width_weight
                    or self.height_hinge is not None)

    @classmethod
    def preset(cls, name, config=None, **overrides):
        """The published loss of a preset of ``LOSS_PRESETS``: ``'svhn'``/``'svhn-grid'``
        (text only) or ``'fsns'``/``'fsns-paper'`` (the published FSNS loss with
        ``train_fsns.py``'s defaults: lambda1 = 0 + 2 * accuracy (``--area-factor 0
        --area-scale-factor 2``), lambda2 = 0 (``--aspect-factor 0``), direction and
        height hinge (10 px) with weight 1, word weights 1, 1.25, 2, 1.25).

        ``config`` (a ``SEEConfig``) supplies ``view_size``; by default the preset's.
        """
        from chainer_see.config import SEEConfig
        if config is None:
            config = SEEConfig.preset(name)
        if name not in LOSS_PRESETS:
            raise ValueError('unknown SEELoss preset %r; presets: %s'
                             % (name, ', '.join(repr(n) for n in LOSS_PRESETS)))
        kw = dict(LOSS_PRESETS[name], view_size=config.view_size)
        kw.update(overrides)
        return cls(**kw)

    def __call__(self, output, labels, boxes=None, box_mask=None):
        """``(loss Variable, parts)``; ``boxes`` ``(B, N*V, 4)`` and ``box_mask``
        ``(B, N*V)`` (both or neither) add the box term and ``parts['box']``."""
        logits, grids = output.logits, output.grids
        N = logits.shape[1]
        labels, ctc, T = self._checked_labels(logits, labels)
        w = self._word_weights(N, backend.get_array_module(logits), logits.dtype)   # (N,)
        word_loss, pred = self._text_values(logits, labels, ctc, T)
        parts = {}
        # the published per-slot accuracy (not sequence accuracy: a slot predicted empty
        # where the label is empty counts as right); it also scales the area weight
        accuracy = metrics.published_accuracy(pred, labels)
        parts['slot_accuracy'] = accuracy
        # lambda1 from the previous call's accuracy (code: set after the loss)
        lam1 = self.area_weight + self.area_accuracy_scale * (self.last_accuracy or 0.0)
        reg = self._regularizers(grids, N, lam1, parts) if self.uses_regularizers else None
        text, total = self._combine(word_loss, reg, w, ctc)
        if boxes is not None or box_mask is not None:
            box = self._box_term(grids, N, boxes, box_mask)
            parts['box'] = float(box.array)
            if self.box_weight:
                total = total + box * box.dtype.type(self.box_weight)
        parts['text'] = float(text.array)
        parts['loss'] = float(total.array)
        self.last_accuracy = accuracy
        return total, parts

    def _checked_labels(self, logits, labels):
        """``(labels array (B, N, T), ctc, T)``; ``ValueError`` naming what does not fit.
        A ctc head's logits have ``2T + 1`` columns for labels of ``T`` characters."""
        B, N, T, K = logits.shape
        xp = backend.get_array_module(logits)
        labels = labels.array if isinstance(labels, chainer.Variable) else labels
        labels = xp.asarray(labels)
        ctc = self.head == 'ctc' or (
            self.head is None and labels.ndim == 3 and labels.shape[:2] == (B, N)
            and T == 2 * labels.shape[2] + 1)
        if ctc:
            T = labels.shape[2] if labels.ndim == 3 else (T - 1) // 2
        if labels.shape != (B, N, T):
            raise ValueError('labels have shape %s; the model output needs (B, N, T) = %s'
                             % (labels.shape, (B, N, T)))
        if labels.dtype.kind not in 'iu':
            raise ValueError('labels must be integer class ids, got dtype %s' % labels.dtype)
        if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= K):
            raise ValueError('labels must be class ids in [0, %d), got values in [%d, %d]'
                             % (K, int(labels.min()), int(labels.max())))
        return labels, ctc, T

    @staticmethod
    def _text_values(logits, labels, ctc, T):
        """``(loss values, predicted ids (B, N, T))``: ``-log p(word)`` per slot
        ``(B, N)`` for a ctc head, else the cross-entropy per character ``(B, N, T)``."""
        B, N, _, K = logits.shape
        if ctc:
            nll = F.reshape(chainer_ctc_loss(
                F.reshape(logits, (B * N,) + logits.shape[2:]),
                labels.reshape(B * N, T).astype(numpy.int32), reduce='no'), (B, N))
            return nll, ctc_ids(logits.array, T)
        ce = F.softmax_cross_entropy(F.reshape(logits, (B * N * T, K)),
                                     labels.reshape(-1).astype(numpy.int32), reduce='no')
        return F.reshape(ce, (B, N, T)), logits.array.argmax(axis=-1)

    def _regularizers(self, grids, N, lam1, parts):
        """The weighted regularizers summed over their terms, ``(B, N, V)``, or ``None``
        when every weight is 0; each term's mean goes into ``parts``."""
        B, M = grids.shape[:2]
        if M % N:
            raise ValueError('grids hold %d regions, not a multiple of N = %d' % (M, N))
        V = M // N
        measure = corner_regularizers if self.mode == 'fsns' else grid_regularizers
        values = measure(grids, self.view_size, self.height_hinge)
        weights = {'area': lam1, 'aspect': self.aspect_weight,
                   'direction': self.direction_weight, 'height': self.height_weight,
                   'outside': self.outside_weight, 'width': self.width_weight}
        parts['area_weight'] = lam1
        reg = None
        for key, v in values.items():
            parts[key] = float(v.array.mean())
            if weights[key]:
                term = F.reshape(v, (B, N, V)) * v.dtype.type(weights[key])
                reg = term if reg is None else reg + term
        return reg

    def _combine(self, word_loss, reg, w, ctc):
        """``(text, total)`` of the mode (module docstring) from the text loss values of
        :meth:`_text_values`, the regularizers ``(B, N, V)`` (or ``None``) and the word
        weights ``w``."""
        if self.mode == 'fsns':     # batch means, summed over the views and characters
            per_slot = F.mean(word_loss, axis=0) if ctc else F.sum(F.mean(word_loss, axis=0),
                                                                     axis=1)
            text = F.mean(per_slot * w)
            if reg is not None:
                per_slot = per_slot + F.sum(F.mean(reg, axis=0), axis=1)
            return text, F.mean(per_slot * w)
        reg = None if reg is None else F.mean(reg, axis=2)               # the V views: (B, N)
        if self.mode == 'svhn':
            per_slot = F.mean(word_loss, axis=0) if ctc else F.mean(word_loss, axis=(0, 2))
            text = F.sum(per_slot * w)
            return text, text if reg is None else text + F.sum(F.mean(reg, axis=0) * w)
        per_image = word_loss if ctc else F.sum(word_loss, axis=2)        # paper: (B, N)
        text = F.sum(F.mean(per_image, axis=0) * w)
        if reg is not None:
            per_image = per_image + reg
        return text, F.sum(F.mean(per_image, axis=0) * w)

    def _box_term(self, grids, N, boxes, box_mask):
        """The mean smooth-L1 box loss of ``box_loss`` (``--box-fraction``)."""
        if boxes is None or box_mask is None:
            raise ValueError('SEELoss: pass both boxes and box_mask, or neither')
        M = grids.shape[1]
        if self.view_size is None:
            raise ValueError('SEELoss needs view_size=(H, W) of one view for box labels')
        if M % N:
            raise ValueError('grids hold %d regions, not a multiple of N = %d' % (M, N))
        return F.mean(box_loss(grids, boxes, box_mask, self.view_size, M // N))

    def _word_weights(self, N, xp, dtype):
        if self.word_weights is None:
            return xp.ones(N, dtype=dtype)
        if len(self.word_weights) < N:
            raise ValueError('SEELoss has %d word weights %s but the labels have N = %d word '
                             'slots; pass word_weights with at least %d entries (the published '
                             'FSNS loss stops at 4 words)'
                             % (len(self.word_weights), self.word_weights, N, N))
        return xp.asarray(self.word_weights[:N], dtype=dtype)

"""SEE: localization network + grid generator + sampler + recognition network."""
import collections

import chainer
import chainer.functions as F
import numpy
from chainer import backend

from chainer_see.evaluation import ctc_decode
from chainer_see.evaluation.metrics import predictions
from chainer_see.evaluation.metrics import to_numpy
from chainer_see.functions import affine_grid
from chainer_see.functions import grid_to_boxes
from chainer_see.functions import multi_grid_sampler
from chainer_see.links import ops
from chainer_see.links.localization import LocalizationNet
from chainer_see.links.recognition import RecognitionNet

SEEOutput = collections.namedtuple('SEEOutput', ['logits', 'grids', 'crops', 'boxes'])
SEEOutput.__doc__ = """Result of ``SEE.forward``.

logits: Variable ``(B, N, T, K)``, unnormalized class scores of each character; with
    the ``'ctc'`` head ``(B, N, 2T + 1, K)``, the scores of each column (CTC, class 0
    the blank; ``SEE.ids`` reads them).
grids: Variable ``(B, N*V, 2, Ho, Wo)``, sampling grid of every region and view in
    ``[-1, 1]`` coordinates of its own view (channel 0 = x, 1 = y).
crops: Variable ``(B, N*V, C, Ho, Wo)``, the sampled regions.
boxes: array ``(B, N*V, 4)``, ``(x_min, y_min, x_max, y_max)`` in pixels of the whole
    input image (a view's boxes are shifted by the view's offset).
Region and view axes are folded region-major: index ``n * V + v``.
"""

Reading = collections.namedtuple('Reading', ['ids', 'words', 'boxes', 'word_confidences',
                                             'confidences'])
Reading.__doc__ = """What ``SEE.predict`` read in a batch of B images (NumPy, on the CPU).

ids: int32 ``(B, N, T)`` argmax class of every step (``'ctc'`` head: the best-path
    reading of the columns, its characters first, blank-padded to T:
    ``ctc_decode.ctc_ids``).
words: ``B`` lists of N decoded strings (blanks dropped; ``''`` for an empty slot).
boxes: float32 ``(B, N*V, 4)`` in pixels of the model input, region-major.
word_confidences: float64 ``(B, N)``: the product over the T steps of the top softmax
    probability (blank steps included); ``'ctc'`` head: the CTC probability
    ``p(word | columns)`` of the word read (``ctc_decode.confidence``).
confidences: float64 ``(B,)``, the product of the image's word confidences.
"""


def confidences(logits):
    """Logits ``(B, N, T, K)`` -> ``(word confidences (B, N), image confidences (B,))``."""
    z = numpy.asarray(logits, numpy.float64)
    z = z - z.max(axis=-1, keepdims=True)
    # log of the top softmax probability = -log(sum exp(z - max))
    log_top = -numpy.log(numpy.exp(z).sum(axis=-1))          # (B, N, T)
    word = log_top.sum(axis=-1)
    return numpy.exp(word), numpy.exp(word.sum(axis=-1))


def ctc_confidences(logits, ids):
    """Column logits ``(B, N, W, K)`` and the ids read ``(B, N, T)`` -> ``(word
    confidences (B, N), image confidences (B,))``: a word's is the CTC probability of its
    reading, an image's the product over its slots."""
    logits = to_numpy(logits)
    B, N = ids.shape[:2]
    word = numpy.zeros((B, N), numpy.float64)
    for b in range(B):
        for n in range(N):
            label = [int(c) for c in ids[b, n] if c != ctc_decode.BLANK]
            word[b, n] = ctc_decode.sequence_log_probability(logits[b, n], label)
    return numpy.exp(word), numpy.exp(word.sum(axis=-1))


def read_output(logits, boxes, char_map, head=None, num_chars=None):
    """Logits ``(B, N, T, K)`` and boxes ``(B, N*V, 4)`` -> :class:`Reading`.

    ``head='ctc'``: the logits are a ctc head's columns ``(B, N, 2T + 1, K)``, read into
    T = ``num_chars`` characters (default: from the column count)."""
    logits = to_numpy(logits)
    ids = predictions(logits, head=head, num_chars=num_chars)
    words = [[char_map.decode(w) for w in image] for image in ids]
    if head == 'ctc':
        word_conf, image_conf = ctc_confidences(logits, ids)
    else:
        word_conf, image_conf = confidences(logits)
    return Reading(ids, words, to_numpy(boxes).astype(numpy.float32), word_conf, image_conf)


def _sample_reference(x, theta, out_size):
    """The published sampling: the image concatenated N times along the batch axis."""
    B, N = theta.shape[:2]
    th = F.reshape(F.transpose(theta, (1, 0, 2, 3)), (N * B, 2, 3))     # index n*B + b
    grid = F.spatial_transformer_grid(th, out_size)
    crops = F.spatial_transformer_sampler(F.concat([x] * N, axis=0), grid)

    def to_bn(v):
        v = F.reshape(v, (N, B) + v.shape[1:])
        return F.transpose(v, (1, 0) + tuple(range(2, v.ndim)))
    return to_bn(grid), to_bn(crops)


class SEE(chainer.Chain):
    """The whole SEE model, built from one ``SEEConfig``.

    Children: ``localization_net`` (``LocalizationNet``) and ``recognition_net``
    (``RecognitionNet``), the names of the published weights.

    ``model(x)`` with ``x`` float32 ``(B, 3, H, W)`` in ``[0, 1]`` returns ``SEEOutput``.
    With ``views = V > 1`` the image holds V views side by side along the width; each
    view is localized on its own (as a batch item), its N grids are relative to it, and
    the V crops of region n are read together into one word.

    With the ``'resnet152'`` backbone (the published FSNS network) the whole forward
    pass runs the published computation (``reference_ops()``: Chainer's own layers, the
    image concatenated N times and Chainer's grid sampler, the reader fed region-major),
    so that it gives the published code's numbers exactly, in training mode too: there
    a freshly initialized ResNet-152 with batch statistics turns input differences of
    1e-6 (another sampler's rounding) into logit differences of 1e-2.  Its cost is the
    ResNet's; the fast paths would save nothing measurable.
    """

    #: backbones whose model always runs the published computation (see above)
    EXACT_BACKBONES = ('resnet152',)

    def __init__(self, config):
        super(SEE, self).__init__()
        config.validate()
        self.config = config
        with self.init_scope():
            self.localization_net = LocalizationNet(config)
            self.recognition_net = RecognitionNet(config)

    # ------------------------------------------------------------------ forward
    def forward(self, x, return_features=False):
        """``x (B, 3, H, W)`` -> ``SEEOutput`` (see its docstring).

        With ``return_features=True`` returns ``(output, features)``, features being the
        localization network's conv activations (``LocalizationNet.forward``), computed
        on the views as batch items (``(B*V, C, h, w)``, index ``b*V + v``).
        """
        cfg = self.config
        if cfg.backbone in self.EXACT_BACKBONES and not ops.using_reference_ops():
            with ops.reference_ops():
                return self.forward(x, return_features)
        B, C, H, W = x.shape
        if (H, W) != tuple(cfg.image_size):
            raise ValueError('SEE model built for %dx%d images (config.image_size), got %dx%d'
                             % (tuple(cfg.image_size) + (H, W)))
        V, N = cfg.views, cfg.num_regions
        Hv, Wv = cfg.view_size
        if V > 1:   # (B, C, H, V*Wv) -> (B*V, C, H, Wv), index b*V + v
            xv = F.reshape(F.transpose(F.reshape(x, (B, C, H, V, Wv)), (0, 3, 1, 2, 4)),
                           (B * V, C, H, Wv))
        else:
            xv = x
        loc = self.localization_net(xv, return_features=return_features)
        theta, feats = loc if return_features else (loc, None)      # (B*V, N, 2, 3)
        if ops.using_reference_ops('sampler'):
            grids, crops = _sample_reference(xv, theta, cfg.crop_size)
        else:
            grids = affine_grid(theta, cfg.crop_size)                # (B*V, N, 2, Ho, Wo)
            crops = multi_grid_sampler(xv, grids)                   # (B*V, N, C, Ho, Wo)
        if V > 1:   # (B, V, N, ...) -> (B, N, V, ...) -> (B, N*V, ...)
            def fold(v):
                v = F.reshape(v, (B, V, N) + v.shape[2:])
                v = F.transpose(v, (0, 2, 1) + tuple(range(3, v.ndim)))
                return F.reshape(v, (B, N * V) + v.shape[3:])
            grids, crops = fold(grids), fold(crops)
        Ho, Wo = cfg.crop_size
        # the reader gets the crops region-major, index (n * B + b) * V + v, the published
        # order: only batch statistics couple the rows, and their sums then run in the
        # published order (in training mode ResNet-152 amplifies rounding differences)
        rc = F.reshape(crops, (B, N, V * C, Ho, Wo))
        if N > 1 and B > 1:
            rc = F.transpose(rc, (1, 0, 2, 3, 4))
        logits = self.recognition_net(F.reshape(rc, (N * B * V, C, Ho, Wo)))
        logits = F.reshape(logits, (N, B) + logits.shape[1:])
        logits = F.transpose(logits, (1, 0, 2, 3)) if N > 1 and B > 1 else \
            F.reshape(logits, (B, N) + logits.shape[2:])
        boxes = self.boxes(grids.array)
        out = SEEOutput(logits, grids, crops, boxes)
        if return_features:
            return out, feats
        return out

    def infer(self, x, return_features=False):
        """``forward`` in test mode without a graph: rotation dropout at its test-time
        value, batch normalization with its stored statistics.  ``x`` is sent to the
        model's device.  Every test-mode forward of the project (inference, the training
        pictures, the IoU report, VisualBackprop) goes through here."""
        x = self.device.send(x)
        with chainer.using_config('train', False), chainer.using_config('enable_backprop',
                                                                        False):
            return self.forward(x, return_features=return_features)

    def predict(self, images, char_map=None):
        """Read a batch: ``images`` float32 ``(B, 3, H, W)`` in ``[0, 1]`` at the model's
        input size (an array, or a list of ``(3, H, W)`` arrays) -> :class:`Reading`
        (words, boxes in pixels of the input, confidences), as ChainerCV's ``predict``.
        ``char_map`` decodes the ids (default: the model's own).  Images of other sizes
        or files go through ``chainer_see.evaluation.predict``, which resizes them."""
        if isinstance(images, (list, tuple)):
            images = numpy.stack([to_numpy(im) for im in images]) if images else \
                numpy.zeros((0, 3) + tuple(self.config.image_size), numpy.float32)
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[1] != 3 or shape[2:] != tuple(self.config.image_size):
            raise ValueError('SEE.predict takes images of shape (B, 3, %d, %d), got %s'
                             % (tuple(self.config.image_size) + (shape,)))
        out = self.infer(images)
        return read_output(out.logits, out.boxes, char_map or self.config.get_char_map(),
                           head=self.config.head, num_chars=self.config.num_chars)

    def ids(self, logits):
        """This model's logits (``SEEOutput.logits``) -> int32 class ids ``(B, N, T)``,
        the layout of the labels and of every metric: the argmax per step, or for the
        ``'ctc'`` head the best-path reading of the columns (``metrics.predictions``)."""
        return predictions(logits, head=self.config.head, num_chars=self.config.num_chars)

    def boxes(self, grids):
        """Grid array ``(B, N*V, 2, Ho, Wo)`` -> boxes ``(B, N*V, 4)`` in pixels of the image."""
        Hv, Wv = self.config.view_size
        V = self.config.views
        boxes = grid_to_boxes(grids, (Hv, Wv)).boxes
        if V > 1:
            xp = backend.get_array_module(boxes)
            n = boxes.shape[1]
            offset = (xp.arange(n) % V).astype(boxes.dtype) * Wv
            boxes = boxes.copy()
            boxes[:, :, 0] += offset
            boxes[:, :, 2] += offset
        return boxes

    # ------------------------------------------------------------------ curriculum etc.
    @property
    def num_regions(self):
        return self.config.num_regions

    @property
    def num_chars(self):
        return self.config.num_chars

    def set_num_regions(self, num_regions):
        """Predict ``num_regions`` regions from now on (curriculum); weights are kept.

        N only sets how many steps the localization LSTM runs; no parameter depends on it.
        """
        self.config = self.config.replace(num_regions=int(num_regions))
        self.localization_net.num_regions = self.config.num_regions

    def set_num_chars(self, num_chars):
        """Read ``num_chars`` characters per region from now on (see
        ``RecognitionNet.set_num_chars``).  With the independent head new parameters may
        appear: set the optimizer up again afterwards."""
        self.config = self.config.replace(num_chars=int(num_chars))
        self.recognition_net.set_num_chars(self.config.num_chars)

    def reset_recognition(self):
        """Replace the recognition network by a freshly initialized one (same config).

        For localization-only restarts: the localization network and its parameters (and
        so the optimizer state attached to them) are untouched.  The new parameters are
        on the model's device; an optimizer set up before must be set up again (or have
        its update rules for ``recognition_net`` recreated) to see them.
        """
        device = self.device
        new = RecognitionNet(self.config)
        new.to_device(device)
        del self.recognition_net
        with self.init_scope():
            self.recognition_net = new
        return new

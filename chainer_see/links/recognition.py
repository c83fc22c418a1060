"""The recognition network: reads T characters from each region crop."""
import numpy

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.links.model.vision.resnet import ResNetLayers

from chainer_see.links import ops
from chainer_see.links.basic import BatchNorm2D
from chainer_see.links.basic import Conv2D
from chainer_see.links.recurrent import lstm_steps
from chainer_see.links.residual import ResidualBlock

# (in, out, stride) of the residual blocks rs1.. of each backbone
SMALL_RESNET_BLOCKS = ((32, 32, 1), (32, 64, 1), (64, 128, 1))
RESNET18_BLOCKS = ((64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1),
                   (128, 256, 2), (256, 256, 1), (256, 512, 2), (512, 512, 1))


#: units of each direction of the ``'ctc'`` head's 2-layer bidirectional LSTM (CRNN)
CTC_LSTM_UNITS = 256
#: layers of that LSTM
CTC_LSTM_LAYERS = 2


def ctc_columns(num_chars):
    """Column steps of the ``'ctc'`` head for ``num_chars`` = T: ``2T + 1``, the most a
    CTC path of T labels can need (T labels, a blank between every two, and one at
    each end), so every label of length <= T fits, repeated characters included."""
    return 2 * int(num_chars) + 1


def column_interpolation(width, columns):
    """Fixed ``(columns, width)`` float32 matrix of the linear interpolation that
    resamples ``width`` feature columns to ``columns`` columns (ends aligned: output
    column j sits at input position ``j (width - 1) / (columns - 1)``; each row holds
    the weights of the two neighbouring input columns, summing to 1; ``width == 1``
    repeats the single column)."""
    A = numpy.zeros((columns, width), numpy.float32)
    if width == 1 or columns == 1:
        A[:, 0] = 1.0
        return A
    pos = numpy.arange(columns, dtype=numpy.float64) * (width - 1) / (columns - 1)
    left = numpy.minimum(numpy.floor(pos).astype(int), width - 2)
    frac = pos - left
    A[numpy.arange(columns), left] = 1.0 - frac
    A[numpy.arange(columns), left + 1] += frac
    return A


#: the smallest crop side ResNet-152 reads (its 3x3 max pool needs 2 pixels after conv1)
RESNET152_MIN_SIDE = 3


class ResNet152(ResNetLayers):
    """Chainer's ``ResNetLayers`` with 152 layers and no pretrained weights (HeNormal
    initialization), as the published FSNS code builds it: the same children (``conv1``,
    ``bn1``, ``res2``..``res5``, ``fc6``, so that its weights load), run up to ``pool5``.

    ``fc6`` (Linear 2048 -> 1000) is kept because the published weights hold it; like
    the published code (which deletes ``fc6`` and ``prob`` from ``functions``) no forward
    pass uses it.
    """

    def __init__(self):
        super(ResNet152, self).__init__(None, 152)

    @property
    def functions(self):
        functions = super(ResNet152, self).functions
        del functions['fc6']
        del functions['prob']
        return functions


def recognition_feature_shape(crop_size, backbone):
    """``(C, h, w)`` of one crop's feature map before ``fc1``; ``ValueError`` if too small."""
    if backbone == 'resnet18':
        return (512, 1, 1)                # global average pool
    if backbone == 'resnet152':
        if min(crop_size) < RESNET152_MIN_SIDE:
            raise ValueError('crop_size %dx%d is too small for the resnet152 recognition '
                             'network: each side needs at least %d pixels'
                             % (tuple(crop_size) + (RESNET152_MIN_SIDE,)))
        return (2048, 1, 1)               # pool5, global average pool

    def before_last_pool(n):
        n = (n + 2 - 3) // 2 + 1          # conv0 3x3, stride 2, pad 1
        n = (n - 2) // 2 + 1 if n >= 2 else 0   # average pool 2
        return (n - 1) // 2 + 1           # max pool 2 (cover_all) after rs2

    dims = []
    for n in crop_size:
        if before_last_pool(n) < 5:
            least = next(m for m in range(1, 1000) if before_last_pool(m) >= 5)
            raise ValueError('crop_size %dx%d is too small for the small-resnet recognition '
                             'network: each side needs at least %d pixels'
                             % (tuple(crop_size) + (least,)))
        dims.append(before_last_pool(n) - 4)   # average pool 5, stride 1
    return (128,) + tuple(dims)


class RecognitionNet(chainer.Chain):
    """Reads ``(M, 3, Ho, Wo)`` crops (M = B * N * V) into logits ``(B * N, T, K)``.

    Backbones (``config.backbone``):

    * ``'small-resnet'`` (SVHN, code): ``data_bn`` on the crop; ``conv0`` 3x3 stride 2
      (32) - ``bn0`` - ReLU - avg pool 2; ``rs1`` (32), ``rs2`` (64), max pool 2, ``rs3``
      (128); avg pool 5 stride 1.  ``conv1``/``bn1`` exist because the published weights
      hold them; the published forward pass (and this one) never uses them.
    * ``'resnet18'`` (FSNS, paper): ``data_bn``; ``conv0`` 7x7 stride 2 (64) - ``bn0`` -
      ReLU - max pool 3 stride 2 pad 1; ``rs1``..``rs8`` (64, 64, 128, 128, 256, 256,
      512, 512; stride 2 in rs3, rs5, rs7); global average pool.
    * ``'resnet152'`` (FSNS, code): ``resnet``, Chainer's ``ResNetLayers`` with 152
      layers (:class:`ResNet152`; no ``data_bn``, as published): conv1 7x7 stride 2 -
      bn1 - ReLU - max pool 3 stride 2; bottleneck stages ``res2``..``res5`` of 3, 8, 36,
      3 blocks (256, 512, 1024, 2048 channels, stride 2 on the 1x1 convolutions of res3
      to res5); ``pool5``, the global average pool (2048).

    The V views of a region are joined on the channel axis (view order 0..V-1), then
    ``fc1`` -> ``rec_units``, ReLU.  Heads (``config.head``):

    * ``'lstm'`` (code): ``lstm`` run T steps on that same feature (``blstm``, the
      published name, then runs backwards over its T outputs when ``backward_lstm``;
      its outputs are put back in forward order), one shared ``classifier`` on every
      step.
    * ``'independent'`` (paper): ``classifiers``, T independent softmax classifiers
      (stored as one Linear(rec_units, T*K)).
    * ``'ctc'`` (this project's, issue 20; CRNN, Shi et al. 2015): no ``fc1``.  The
      backbone's feature map *before* its last pooling (small-resnet: ``rs3``'s output,
      before the 5x5 average pool; resnet18: ``rs8``'s, before the global pool;
      resnet152: ``res5``, before ``pool5``) is averaged over its height: a sequence
      of ``w`` columns of C features; the V views of a region are joined on the
      channel axis per column (``V*C`` features).  The sequence is resampled to exactly
      ``W_ctc = 2T + 1`` columns (:func:`ctc_columns`: room for any label of up to T
      characters, repeats included) by a fixed linear-interpolation matrix
      (:func:`column_interpolation`) applied with ``F.linear``: ``w`` is small (a few
      columns) and rarely divides ``2T + 1``, so repeating columns by an integer factor
      would not land on ``2T + 1``; a fixed matrix gives that length from any ``w``, is
      differentiable, runs the same on CPU and GPU, and has no parameter, so
      ``set_num_chars`` only changes the matrix (``F.resize_images`` is not used: it is
      broken on current NumPy).  Then ``bilstm``, ``L.NStepBiLSTM(2, V*C, 256,
      dropout=0)``, over the columns, and ``classifier``, ``L.Linear(512, K)`` on every
      column.  The logits are column scores ``(B*N, 2T + 1, K)`` (``SEE``'s
      ``(B, N, 2T + 1, K)``), class 0 the CTC blank; they are trained with CTC
      (``SEELoss``) and read by best-path decoding
      (``chainer_see.evaluation.ctc_decode.ctc_ids``).
    """

    def __init__(self, config):
        super(RecognitionNet, self).__init__()
        self.backbone = config.backbone
        self.head = config.head
        self.views = config.views
        self.num_chars = config.num_chars
        self.num_classes = config.num_classes
        self.backward_lstm = config.backward_lstm
        self.crop_size = tuple(config.crop_size)
        C, h, w = recognition_feature_shape(self.crop_size, config.backbone)
        if config.head == 'ctc':
            C = {'small-resnet': 128, 'resnet18': 512, 'resnet152': 2048}[config.backbone]
        units = config.rec_units
        sc = config.shortcut
        blocks = {'small-resnet': SMALL_RESNET_BLOCKS, 'resnet18': RESNET18_BLOCKS,
                  'resnet152': ()}[config.backbone]
        self.num_blocks = len(blocks)
        with self.init_scope():
            if config.backbone == 'resnet152':
                self.resnet = ResNet152()
            else:
                self.data_bn = BatchNorm2D(3)
            if config.backbone == 'small-resnet':
                self.conv0 = Conv2D(3, 32, 3, stride=2, pad=1)
                self.bn0 = BatchNorm2D(32)
                self.conv1 = Conv2D(32, 32, 3, pad=1)   # in the published weights, unused
                self.bn1 = BatchNorm2D(32)              # in the published weights, unused
            elif config.backbone == 'resnet18':
                self.conv0 = Conv2D(3, 64, 7, stride=2, pad=3)
                self.bn0 = BatchNorm2D(64)
            for i, (cin, cout, stride) in enumerate(blocks):
                setattr(self, 'rs%d' % (i + 1), ResidualBlock(cin, cout, stride, shortcut=sc))
            if config.head == 'ctc':
                self.bilstm = L.NStepBiLSTM(CTC_LSTM_LAYERS, self.views * C,
                                            CTC_LSTM_UNITS, dropout=0)
                self.classifier = L.Linear(2 * CTC_LSTM_UNITS, config.num_classes)
                return
            self.fc1 = L.Linear(self.views * C * h * w, units)
            if config.head == 'lstm':
                self.lstm = L.LSTM(units, units)
                if config.backward_lstm:
                    self.blstm = L.LSTM(units, units)
                self.classifier = L.Linear(units, config.num_classes)
            else:
                self.classifiers = L.Linear(units, config.num_chars * config.num_classes)

    def features(self, x, pooled=True):
        """Crops ``(M, 3, Ho, Wo)`` -> feature maps ``(M, C, h, w)`` of the backbone;
        ``pooled=False``: the map before the last pooling (the ``'ctc'`` head's)."""
        if self.backbone == 'resnet152':
            if not pooled:
                return self.resnet(x, layers=['res5'])['res5']     # (M, 2048, h, w)
            h = self.resnet(x, layers=['pool5'])['pool5']          # (M, 2048)
            return F.reshape(h, h.shape + (1, 1))
        h = self.data_bn(x)
        h = self.bn0(self.conv0(h), relu=True)
        if self.backbone == 'small-resnet':
            h = ops.average_pooling_2d(h, 2, stride=2)
            h = self.rs1(h)
            h = self.rs2(h)
            h = ops.max_pooling_2d(h, 2, stride=2)
            h = self.rs3(h)
            return ops.average_pooling_2d(h, 5, stride=1) if pooled else h
        h = ops.max_pooling_2d(h, 3, stride=2, pad=1, cover_all=False)
        for i in range(self.num_blocks):
            h = self['rs%d' % (i + 1)](h)
        return F.mean(h, axis=(2, 3), keepdims=True) if pooled else h

    def ctc_forward(self, x):
        """The ``'ctc'`` head (class docstring): crops -> column logits ``(M, 2T+1, K)``."""
        h = F.mean(self.features(x, pooled=False), axis=2)       # (M*V, C, w)
        MV, C, w = h.shape
        M = MV // self.views
        h = F.reshape(h, (M, self.views * C, w))   # the V views joined per column
        W = ctc_columns(self.num_chars)
        A = self.xp.asarray(column_interpolation(w, W)).astype(h.dtype, copy=False)
        h = F.linear(F.reshape(h, (M * self.views * C, w)), A)  # (M*V*C, W)
        h = F.transpose(F.reshape(h, (M, self.views * C, W)), (0, 2, 1))   # (M, W, V*C)
        _, _, ys = self.bilstm(None, None, list(F.separate(h, axis=0)))
        y = self.classifier(F.concat(ys, axis=0))                # (M*W, K)
        return F.reshape(y, (M, W, self.num_classes))

    def forward(self, x):
        """``x (B*N*V, 3, Ho, Wo)``, views of a region adjacent -> logits ``(B*N, T, K)``
        (``'ctc'`` head: ``(B*N, 2T + 1, K)``)."""
        if tuple(x.shape[2:]) != self.crop_size:
            raise ValueError('RecognitionNet was built for %dx%d crops, got %dx%d'
                             % (self.crop_size + tuple(x.shape[2:])))
        if self.head == 'ctc':
            return self.ctc_forward(x)
        h = self.features(x)
        M = h.shape[0] // self.views
        h = F.reshape(h, (M, -1))          # joins the V views of a region (channel axis)
        h = F.relu(self.fc1(h))
        T, K = self.num_chars, self.num_classes
        if self.head == 'independent':
            return F.reshape(self.classifiers(h), (M, T, K))
        hs = lstm_steps(self.lstm, x=h, steps=T)
        if self.backward_lstm:
            hs = lstm_steps(self.blstm, xs=hs[::-1])[::-1]
        # step by step: the classifier applied to all steps in one product was measured
        # at 1.01x / 0.95x of the svhn / svhn-grid training step, and removed
        return F.stack([self.classifier(v) for v in hs], axis=1)

    def set_num_chars(self, num_chars):
        """Read ``num_chars`` characters from now on, keeping the weights.

        The LSTM head just runs more or fewer steps; the ctc head resamples its columns
        to ``2 * num_chars + 1`` (no parameter changes).  The independent head keeps the
        classifiers of the first ``min(old, new)`` positions and initializes new ones.
        """
        num_chars = int(num_chars)
        if num_chars < 1:
            raise ValueError('num_chars must be >= 1, got %d' % num_chars)
        if self.head == 'independent' and num_chars != self.num_chars:
            K = self.num_classes
            old = self.classifiers
            units = old.W.shape[1]
            new = L.Linear(units, num_chars * K)
            new.to_device(old.device)
            keep = min(num_chars, self.num_chars) * K
            new.W.array[:keep] = old.W.array[:keep]
            new.b.array[:keep] = old.b.array[:keep]
            del self.classifiers
            with self.init_scope():
                self.classifiers = new
        self.num_chars = num_chars

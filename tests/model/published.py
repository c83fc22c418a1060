"""The published SEE networks and FSNS loss, rebuilt in plain Chainer for the equivalence
tests (``test_published_equivalence.py``, ``test_fsns_loss.py``).

Written for this project from the facts of the authors' code at its last commit
(``chainer/models/fsns.py``, ``fsns_resnet.py``, ``svhn.py``,
``metrics/loss_metrics.py``, ``train_fsns.py``, ``train_svhn.py``; see
``../shared/specs/see.md``, "The published FSNS configuration"): the same links under the
same names, run the way the code runs them (the views and regions as batch items, the
image concatenated N times, Chainer's ``spatial_transformer_grid`` /
``spatial_transformer_sampler``, LSTMs called step by step with their state, the loss
with Python loops over word slots, characters and views).  Nothing here imports
``chainer_see``, so it is an independent account of the published computation.

Shapes follow the published code: the localization returns ``(N * B', 2, 3)`` with index
``n * B' + b'`` (``B' = B * V``, ``b' = b * V + v``); the FSNS reader returns a list over
the N regions of ``(T, B, K)`` logits, the SVHN reader of ``(B, T, K)``.
"""
import numpy

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.links.model.vision.resnet import ResNetLayers

#: per-word weights of the published loss (it fails beyond four words)
WORD_WEIGHTS = (1, 1.25, 2, 1.25)


def rotation_dropout(theta, ratio):
    """The published ``RotationDropout`` on ``(B, 2, 3)``: training mode keeps the two
    off-diagonal terms when one draw ``numpy.random.rand(1) < ratio`` says so (one
    draw per call, shared by the batch); test mode multiplies them by ``ratio``."""
    mask = numpy.ones(theta.shape, theta.dtype)
    if chainer.config.train:
        keep = numpy.random.rand(1) < ratio
        mask[:, 0, 1] = mask[:, 1, 0] = keep
    else:
        mask[:, 0, 1] = mask[:, 1, 0] = ratio
    return theta * mask


class Block(chainer.Chain):
    """The published ``ResnetBlock``: conv3x3-BN-ReLU-conv3x3-BN, the 1x1 conv + BN
    shortcut only with ``filter_increase``, no identity shortcut otherwise, ReLU."""

    def __init__(self, filters, filter_increase=False):
        super(Block, self).__init__()
        self.filter_increase = filter_increase
        with self.init_scope():
            self.conv0 = L.Convolution2D(None, filters, 3, pad=1)
            self.bn0 = L.BatchNormalization(filters)
            self.conv1 = L.Convolution2D(filters, filters, 3, pad=1)
            self.bn1 = L.BatchNormalization(filters)
            if filter_increase:
                self.conv2 = L.Convolution2D(None, filters, 1)
                self.bn2 = L.BatchNormalization(filters)

    def forward(self, x):
        h = self.bn1(self.conv1(F.relu(self.bn0(self.conv0(x)))))
        if self.filter_increase:
            h = h + self.bn2(self.conv2(x))
        return F.relu(h)


class Localization(chainer.Chain):
    """``SVHNLocalizationNet`` (``head='linear'``: zero weights, bias zoom at 0 and 4)
    or ``FSNSSingleSTNLocalizationNet`` (``head='lstm'``: ``L.LSTM(256, 6)``, default
    initialization).  Returns ``(N * B, 2, 3)``, region-major."""

    def __init__(self, num_regions, head, dropout_ratio=0.5, zoom=0.9):
        super(Localization, self).__init__()
        self.num_regions = num_regions
        self.head = head
        self.dropout_ratio = dropout_ratio
        with self.init_scope():
            self.conv0 = L.Convolution2D(None, 32, 3, pad=1)
            self.bn0 = L.BatchNormalization(32)
            self.rs1 = Block(32)
            self.rs2 = Block(48, filter_increase=True)
            self.rs3 = Block(48)
            self.lstm = L.LSTM(None, 256)
            if head == 'linear':
                self.transform_2 = L.Linear(256, 6)
            else:
                self.transform_2 = L.LSTM(256, 6)
        if head == 'linear':
            self.transform_2.W.array[...] = 0
            self.transform_2.b.array[[0, 4]] = zoom
            self.transform_2.b.array[[2, 5]] = 0

    def forward(self, images):
        self.lstm.reset_state()
        if self.head == 'lstm':
            self.transform_2.reset_state()
        h = F.average_pooling_2d(F.relu(self.bn0(self.conv0(images))), 2, stride=2)
        h = F.max_pooling_2d(self.rs1(h), 2, stride=2)
        h = F.max_pooling_2d(self.rs2(h), 2, stride=2)
        h = F.average_pooling_2d(self.rs3(h), 5, stride=2)
        thetas = []
        for _ in range(self.num_regions):
            t = self.transform_2(F.relu(self.lstm(h)))
            thetas.append(rotation_dropout(F.reshape(t, (-1, 2, 3)), self.dropout_ratio))
        return F.concat(thetas, axis=0)


def _steps(lstm, blstm, feature, num_chars):
    """The reading LSTM(s) of one region: ``num_chars`` steps on ``feature``, then the
    backward LSTM over them in reverse order, its outputs put back in forward order."""
    lstm.reset_state()
    hs = [lstm(feature) for _ in range(num_chars)]
    if blstm is not None:
        blstm.reset_state()
        hs = [blstm(h) for h in reversed(hs)][::-1]
    return hs


class FSNSReader(chainer.Chain):
    """``FSNSRecognitionResnet`` of ``train_fsns.py``: Chainer's ResNet-152 (random
    HeNormal initialization), ``pool5``, the 4 views joined by channels, ``fc1`` 512 +
    ReLU, LSTM 512 and backward LSTM 512, ``classifier`` 134."""

    def __init__(self, crop_size, num_chars, num_regions, views=4, num_classes=134):
        super(FSNSReader, self).__init__()
        self.crop_size = crop_size
        self.num_chars = num_chars
        self.num_regions = num_regions
        self.views = views
        with self.init_scope():
            self.resnet = ResNetLayers(None, 152)
            self.fc1 = L.Linear(None, 512)
            self.lstm = L.LSTM(None, 512)
            self.blstm = L.LSTM(None, 512)
            self.classifier = L.Linear(None, num_classes)

    def forward(self, images, thetas):
        points = F.spatial_transformer_grid(thetas, self.crop_size)
        rois = F.spatial_transformer_sampler(images, points)
        h = self.resnet(rois, layers=['res5', 'pool5'])['pool5']        # (N * B * V, 2048)
        h = F.reshape(h, (h.shape[0] // self.views, self.views * h.shape[1]))
        h = F.relu(self.fc1(h))
        h = F.reshape(h, (self.num_regions, -1, self.fc1.out_size))
        out = []
        for feature in F.separate(h, axis=0):
            hs = _steps(self.lstm, self.blstm, feature, self.num_chars)
            out.append(F.stack([self.classifier(v) for v in hs], axis=0))   # (T, B, K)
        return out, rois, points


class SVHNReader(chainer.Chain):
    """``SVHNRecognitionNet`` of ``train_svhn.py`` (no backward LSTM): ``conv1``/``bn1``
    exist but are not used."""

    def __init__(self, crop_size, num_chars, num_regions):
        super(SVHNReader, self).__init__()
        self.crop_size = crop_size
        self.num_chars = num_chars
        self.num_regions = num_regions
        with self.init_scope():
            self.data_bn = L.BatchNormalization(3)
            self.conv0 = L.Convolution2D(None, 32, 3, pad=1, stride=2)
            self.bn0 = L.BatchNormalization(32)
            self.conv1 = L.Convolution2D(32, 32, 3, pad=1)
            self.bn1 = L.BatchNormalization(32)
            self.rs1 = Block(32)
            self.rs2 = Block(64, filter_increase=True)
            self.rs3 = Block(128, filter_increase=True)
            self.fc1 = L.Linear(None, 256)
            self.lstm = L.LSTM(None, 256)
            self.classifier = L.Linear(None, 11)

    def forward(self, images, thetas):
        points = F.spatial_transformer_grid(thetas, self.crop_size)
        rois = F.spatial_transformer_sampler(images, points)
        h = F.relu(self.bn0(self.conv0(self.data_bn(rois))))
        h = F.average_pooling_2d(h, 2, stride=2)
        h = F.max_pooling_2d(self.rs2(self.rs1(h)), 2, stride=2)
        h = F.average_pooling_2d(self.rs3(h), 5, stride=1)
        h = F.relu(self.fc1(h))
        h = F.reshape(h, (self.num_regions, -1, self.fc1.out_size))
        out = []
        for feature in F.separate(h, axis=0):
            hs = _steps(self.lstm, None, feature, self.num_chars)
            out.append(F.stack([self.classifier(v) for v in hs], axis=1))   # (B, T, K)
        return out, rois, points


class Net(chainer.Chain):
    """``FSNSNet`` (``views=4``: each image split into its views as batch items
    ``b * 4 + v``) or ``SVHNNet`` (``views=1``); the image concatenated N times."""

    def __init__(self, localization_net, recognition_net, views):
        super(Net, self).__init__()
        self.views = views
        with self.init_scope():
            self.localization_net = localization_net
            self.recognition_net = recognition_net

    def forward(self, images):
        if self.views > 1:
            B, C, H, W = images.shape
            images = F.reshape(images, (B, C, H, self.views, W // self.views))
            images = F.transpose(images, (0, 3, 1, 2, 4))
            images = F.reshape(images, (B * self.views, C, H, W // self.views))
        thetas = self.localization_net(images)
        images = F.concat([images] * (thetas.shape[0] // images.shape[0]), axis=0)
        return self.recognition_net(images, thetas)


def fsns_net(num_regions=4, num_chars=21, crop_size=(75, 100), num_classes=134):
    """The network of ``train_fsns.py`` (``FSNSSingleSTNLocalizationNet`` +
    ``FSNSRecognitionResnet`` with ``use_blstm=True`` in ``FSNSNet``)."""
    return Net(Localization(num_regions, 'lstm'),
               FSNSReader(crop_size, num_chars, num_regions, 4, num_classes), views=4)


def svhn_net(num_regions=4, num_chars=5, crop_size=(50, 50)):
    """The network of ``train_svhn.py`` (``SVHNLocalizationNet`` + ``SVHNRecognitionNet``)."""
    return Net(Localization(num_regions, 'linear'),
               SVHNReader(crop_size, num_chars, num_regions), views=1)


def fsns_logits(predictions):
    """The FSNS reader's list of ``(T, B, K)`` -> ``(B, N, T, K)`` (``SEEOutput.logits``)."""
    return F.transpose(F.stack(predictions, axis=0), (2, 0, 1, 3))


def svhn_logits(predictions):
    """The SVHN reader's list of ``(B, T, K)`` -> ``(B, N, T, K)``."""
    return F.stack(predictions, axis=1)


def as_regions(points, batch, views):
    """The published grids ``(N * B * V, 2, Ho, Wo)`` -> ``(B, N * V, 2, Ho, Wo)``, the
    order of ``SEEOutput.grids`` (index ``n * V + v``)."""
    g = F.reshape(points, (-1, batch, views) + points.shape[1:])       # (N, B, V, ...)
    g = F.transpose(g, (1, 0, 2, 3, 4, 5))
    return F.reshape(g, (batch, -1) + points.shape[1:])


class FSNSLoss(object):
    """The published FSNS loss and accuracy (``SoftmaxMetrics`` on ``LossMetrics`` with
    ``uses_original_data=True``), one Python loop per slot, character and view.

    ``loss(predictions, points, labels)`` takes the FSNS reader's outputs and labels
    ``(B, N, T)``; ``accuracy(predictions, labels)`` then sets the area factor of the next
    call, as the published ``Classifier`` calls them in that order.  ``image_size`` is
    the view's ``(H, W)`` (published: 150 x 150).
    """

    def __init__(self, image_size=(150, 150), area_factor=0.0, area_scale=2.0,
                 aspect_factor=0.0, views=4):
        self.height, self.width = image_size
        self.base_area_factor = area_factor
        self.area_scale = area_scale
        self.area_factor = area_factor
        self.aspect_factor = aspect_factor
        self.views = views
        self.terms = []      # (slot, view, name, value) of the last call, for the tests

    def corners(self, grid):
        """``(x_tl, x_tr, x_bl, y_tl, y_tr, y_bl)`` in pixels, ``(g + 1) / 2 * size``."""
        Ho, Wo = grid.shape[2:]
        g = (grid + 1) / 2
        xs, ys = g[:, 0] * self.width, g[:, 1] * self.height
        return (xs[:, 0, 0], xs[:, 0, Wo - 1], xs[:, Ho - 1, 0],
                ys[:, 0, 0], ys[:, 0, Wo - 1], ys[:, Ho - 1, 0])

    def loss(self, predictions, points, labels):
        B, N = labels.shape[:2]
        grids = F.reshape(points, (N, B, self.views) + points.shape[1:])
        slot_losses = []
        self.terms = []
        for n in range(N):
            chars = F.separate(predictions[n], axis=0)                     # T x (B, K)
            loss = sum(F.softmax_cross_entropy(chars[t], labels[:, n, t])
                       for t in range(len(chars)))
            self.terms.append((n, None, 'text', float(loss.array)))
            for v in range(self.views):
                grid = grids[n, :, v]
                x0, x1, x2, y0, y1, y2 = self.corners(grid)
                width = F.sqrt(F.square(x1 - x0) + F.square(y1 - y0))
                height = F.sqrt(F.square(x2 - x0) + F.square(y2 - y0))
                area = sum(width * height / (self.width * self.height)) / B
                ratio = height / F.maximum(width, numpy.ones_like(width.array))
                aspect = sum(F.maximum(ratio - 0.5, numpy.zeros_like(ratio.array))) / B
                direction = (F.average(F.relu(y0 - y2)) + F.average(F.relu(x0 - x1)))
                hinge = F.average(-F.minimum(height - 10, numpy.zeros_like(height.array)))
                for name, value in (('area', area), ('aspect', aspect),
                                    ('direction', direction), ('height', hinge)):
                    self.terms.append((n, v, name, float(value.array)))
                loss = loss + self.area_factor * area
                loss = loss + self.aspect_factor * aspect
                loss = loss + direction + hinge
            slot_losses.append(loss * WORD_WEIGHTS[n])
        return sum(slot_losses) / len(slot_losses)

    def accuracy(self, predictions, labels):
        B, N = labels.shape[:2]
        per_slot = []
        for n in range(N):
            pred = predictions[n].array.argmax(axis=2).T                    # (B, T)
            right = 0
            for b in range(B):
                word = [int(c) for c in pred[b] if c != 0]
                label = [int(c) for c in labels[b, n] if c != 0]
                right += word == label
            per_slot.append(right / float(B))
        accuracy = sum(per_slot) / max(len(per_slot), 1)
        self.area_factor = self.base_area_factor + self.area_scale * accuracy
        return accuracy

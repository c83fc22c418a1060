"""The localization network: N affine matrices per image (paper Eq. 1-4)."""
import collections
import math

import numpy

import chainer
import chainer.functions as F
import chainer.links as L

from chainer_see.config import shrink_factor
from chainer_see.functions.rotation_dropout import rotation_dropout
from chainer_see.links import ops
from chainer_see.links.basic import BatchNorm2D
from chainer_see.links.basic import Conv2D
from chainer_see.links.recurrent import lstm_steps
from chainer_see.links.residual import ResidualBlock

FILTERS = (32, 32, 48, 48)   # stem conv, residual blocks rs1, rs2, rs3


def localization_feature_shape(view_size, pooling='code'):
    """``(C, h, w)`` of the pooled feature the LSTM reads, for input ``view_size (H, W)``.

    Raises ``ValueError`` when the input is too small for the network.
    """
    def avg(n, k, s):
        return (n - k) // s + 1 if n >= k else 0

    def maxp(n):   # 2x2 stride 2, cover_all (Chainer's default)
        return (n - 1) // 2 + 1

    def before_last_pool(n):
        n = avg(n, 2, 2)
        if pooling == 'code':
            n = maxp(n)
        return maxp(n)

    dims = []
    for n in view_size:
        if before_last_pool(n) < 5:
            least = next(m for m in range(1, 1000) if before_last_pool(m) >= 5)
            raise ValueError('a view of %dx%d pixels is too small for the localization network '
                             '(pooling=%r): each side needs at least %d pixels'
                             % (tuple(view_size) + (pooling, least)))
        dims.append(avg(before_last_pool(n), 5, 2))
    return (FILTERS[3],) + tuple(dims)


def slot_anchors(num_regions, zoom, dtype=numpy.float32):
    """Offsets ``(N, 6)`` of ``slot_layout='grid'``, added to the head's flat output.

    With the ``'linear'`` head's initial output ``(zoom, 0, 0, 0, zoom, 0)``, region n
    becomes ``(zoom / cols, 0, x_n, 0, zoom / rows, y_n)``: the centred ``zoom`` part of
    cell n, in reading order, of a grid of ``cols = ceil(sqrt N)`` columns and
    ``rows = ceil(N / cols)`` rows over the view (``x_n, y_n`` the cell centre in [-1, 1]).
    """
    cols = int(math.ceil(math.sqrt(num_regions)))
    rows = int(math.ceil(num_regions / float(cols)))
    out = numpy.zeros((num_regions, 6), dtype=dtype)
    for n in range(num_regions):
        r, c = divmod(n, cols)
        out[n] = (zoom / cols - zoom, 0, -1 + (2 * c + 1) / float(cols),
                  0, zoom / rows - zoom, -1 + (2 * r + 1) / float(rows))
    return out


def shrink(x, read_size):
    """``x (B, C, k h, k w)`` -> ``(B, C, h, w)``: the mean of each ``k x k`` block (a box
    filter, which keeps thin strokes that plain subsampling can miss); ``x`` itself when
    ``k = 1``."""
    size = tuple(x.shape[2:])
    if size == tuple(read_size):
        return x
    k = shrink_factor(size, read_size)
    if k is None:
        raise ValueError('the localization reads %dx%d, which does not divide a %dx%d view '
                         'by a whole number' % (tuple(read_size) + size))
    return F.average_pooling_2d(x, k, stride=k)


class LocalizationNet(chainer.Chain):
    """Predicts N affine matrices ``theta (B, N, 2, 3)`` for a batch of (views of) images.

    Architecture (paper, with the published code's choices as defaults):
    conv3x3(32)-BN-ReLU, avg pool 2; residual blocks 32, 48, 48 with max pool 2 after
    rs1 (``pooling='code'`` only) and rs2; avg pool 5 stride 2; an LSTM (``loc_units``)
    run N steps on that same feature, ReLU on its output; per step a transform head,
    ``transform_2`` (the published name of both): Linear(loc_units, 6) with zero weights
    and bias (zoom, 0, 0, 0, zoom, 0) (``'linear'``, SVHN code) or an LSTM with 6 units,
    its state carried over the N steps, Chainer's default initialization (``'lstm'``,
    paper and FSNS code); with ``slot_layout='grid'`` plus a fixed offset per region
    (``slot_anchors``); then rotation dropout.

    With ``loc_input_size`` the view is first shrunk to that size (``shrink``): the
    layers above see ``loc_read_size``, the matrices still address the whole view.

    Child names follow the published weights: ``conv0``, ``bn0``, ``rs1``..``rs3``,
    ``lstm``, ``transform_2``.

    Args:
        config (SEEConfig): uses ``view_size``, ``num_regions``, ``loc_units``,
            ``loc_input_size``, ``transform_head``, ``zoom``, ``slot_layout``,
            ``shortcut``, ``pooling``,
            ``rotation_dropout``, ``rotation_dropout_ratio``.
    """

    def __init__(self, config):
        super(LocalizationNet, self).__init__()
        self.num_regions = config.num_regions
        self.pooling = config.pooling
        self.transform_head = config.transform_head
        self.slot_layout = config.slot_layout
        self.zoom = config.zoom
        self.dropout_mode = config.rotation_dropout
        self.dropout_ratio = config.rotation_dropout_ratio
        self.input_size = tuple(config.view_size)
        self.read_size = tuple(config.loc_read_size)
        C, h, w = localization_feature_shape(self.read_size, config.pooling)
        sc = config.shortcut
        with self.init_scope():
            self.conv0 = Conv2D(3, FILTERS[0], 3, pad=1)
            self.bn0 = BatchNorm2D(FILTERS[0])
            self.rs1 = ResidualBlock(FILTERS[0], FILTERS[1], shortcut=sc)
            self.rs2 = ResidualBlock(FILTERS[1], FILTERS[2], shortcut=sc)
            self.rs3 = ResidualBlock(FILTERS[2], FILTERS[3], shortcut=sc)
            self.lstm = L.LSTM(C * h * w, config.loc_units)
            if config.transform_head == 'linear':
                self.transform_2 = L.Linear(config.loc_units, 6, initialW=0)
            else:
                self.transform_2 = L.LSTM(config.loc_units, 6)
        if config.transform_head == 'linear':
            b = self.transform_2.b.array
            b[...] = 0
            b[0] = config.zoom
            b[4] = config.zoom

    def features(self, x, features=None):
        """The convolutional part: ``x (B, 3, H, W)`` -> pooled feature ``(B, 48, h, w)``."""
        h = self.bn0(self.conv0(x), relu=True)
        if features is not None:
            features['conv0'] = h
        h = ops.average_pooling_2d(h, 2, stride=2)
        h = self.rs1(h, features, 'rs1')
        if self.pooling == 'code':
            h = ops.max_pooling_2d(h, 2, stride=2)
        h = self.rs2(h, features, 'rs2')
        h = ops.max_pooling_2d(h, 2, stride=2)
        h = self.rs3(h, features, 'rs3')
        return ops.average_pooling_2d(h, 5, stride=2)

    def forward(self, x, return_features=False):
        """``x (B, 3, H, W)`` -> ``theta (B, N, 2, 3)`` (Variable).

        With ``return_features=True`` returns ``(theta, features)``: an ``OrderedDict``
        of the ReLU activations of every conv layer in forward order, for VisualBackprop:
        ``conv0`` (stem, full input resolution, before the 2x2 average pool), then for
        each block ``rsK/conv0`` (its first conv) and ``rsK`` (its output).  Pooling
        between them halves the resolution (see the class docstring).
        """
        if tuple(x.shape[2:]) != self.input_size:
            raise ValueError('LocalizationNet was built for %dx%d inputs, got %dx%d'
                             % (self.input_size + tuple(x.shape[2:])))
        feats = collections.OrderedDict() if return_features else None
        h = self.features(shrink(x, self.read_size), feats)
        hs = lstm_steps(self.lstm, x=h, steps=self.num_regions)
        thetas = []
        if self.transform_head == 'linear':
            ts = [self.transform_2(F.relu(v)) for v in hs]
        else:
            ts = lstm_steps(self.transform_2, xs=[F.relu(v) for v in hs])
        if self.slot_layout == 'grid':
            anchors = self.xp.asarray(slot_anchors(len(ts), self.zoom, ts[0].dtype))
            ts = [t + F.broadcast_to(anchors[n], t.shape) for n, t in enumerate(ts)]
        for t in ts:
            t = F.reshape(t, (-1, 2, 3))
            thetas.append(rotation_dropout(t, self.dropout_ratio, self.dropout_mode))
        theta = F.stack(thetas, axis=1)
        if return_features:
            return theta, feats
        return theta

"""The recognition network: reads T characters from each region crop."""
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
            self.fc1 = L.Linear(self.views * C * h * w, units)
            if config.head == 'lstm':
                self.lstm = L.LSTM(units, units)
                if config.backward_lstm:
                    self.blstm = L.LSTM(units, units)
                self.classifier = L.Linear(units, config.num_classes)
            else:
                self.classifiers = L.Linear(units, config.num_chars * config.num_classes)

    def features(self, x):
        """Crops ``(M, 3, Ho, Wo)`` -> feature maps ``(M, C, h, w)`` of the backbone."""
        if self.backbone == 'resnet152':
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
            return ops.average_pooling_2d(h, 5, stride=1)
        h = ops.max_pooling_2d(h, 3, stride=2, pad=1, cover_all=False)
        for i in range(self.num_blocks):
            h = self['rs%d' % (i + 1)](h)
        return F.mean(h, axis=(2, 3), keepdims=True)

    def forward(self, x):
        """``x (B*N*V, 3, Ho, Wo)``, views of a region adjacent -> logits ``(B*N, T, K)``."""
        if tuple(x.shape[2:]) != self.crop_size:
            raise ValueError('RecognitionNet was built for %dx%d crops, got %dx%d'
                             % (self.crop_size + tuple(x.shape[2:])))
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
        if ops.using_reference_ops('classifier'):
            return F.stack([self.classifier(v) for v in hs], axis=1)
        y = self.classifier(F.reshape(F.stack(hs, axis=1), (M * T, -1)))
        return F.reshape(y, (M, T, K))

    def set_num_chars(self, num_chars):
        """Read ``num_chars`` characters from now on, keeping the weights.

        The LSTM head just runs more or fewer steps.  The independent head keeps the
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

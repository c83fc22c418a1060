"""The residual block of SEE's localization and recognition networks."""
import chainer
import chainer.functions as F

from chainer_see.links.basic import BatchNorm2D
from chainer_see.links.basic import Conv2D


class ResidualBlock(chainer.Chain):
    """conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut, add, ReLU.

    Children (names of the published weights): ``conv0``/``bn0``, ``conv1``/``bn1`` and,
    when the block changes the channel count or has a stride, the projection shortcut
    ``conv2`` (1x1, same stride) / ``bn2``.

    Args:
        in_channels, out_channels: channel counts.
        stride: stride of ``conv0`` and of the projection (1 in the SEE networks,
            2 in the downsampling blocks of ResNet-18).
        shortcut: ``'code'`` (published code: a block without projection has NO
            shortcut at all; the published weights depend on it) or ``'identity'``
            (paper / usual ResNet: such a block adds its input).

    Input ``(B, in_channels, H, W)`` -> ``(B, out_channels, ceil(H / stride), ...)``.
    """

    def __init__(self, in_channels, out_channels, stride=1, shortcut='code'):
        super(ResidualBlock, self).__init__()
        if shortcut not in ('code', 'identity'):
            raise ValueError("shortcut must be 'code' or 'identity', got %r" % (shortcut,))
        self.shortcut = shortcut
        self.projection = in_channels != out_channels or stride != 1
        with self.init_scope():
            self.conv0 = Conv2D(in_channels, out_channels, 3, stride=stride, pad=1)
            self.bn0 = BatchNorm2D(out_channels)
            self.conv1 = Conv2D(out_channels, out_channels, 3, pad=1)
            self.bn1 = BatchNorm2D(out_channels)
            if self.projection:
                self.conv2 = Conv2D(in_channels, out_channels, 1, stride=stride)
                self.bn2 = BatchNorm2D(out_channels)

    def forward(self, x, features=None, name=''):
        """Apply the block; with a ``features`` dict, store the activations of each conv.

        ``features[name + '/conv0']`` is the ReLU output of the first conv (stride of the
        block), ``features[name]`` the block output.
        """
        h = self.bn0(self.conv0(x), relu=True)
        if features is not None:
            features[name + '/conv0'] = h
        h = self.bn1(self.conv1(h))
        if self.projection:
            h = h + self.bn2(self.conv2(x))
        elif self.shortcut == 'identity':
            h = h + x
        h = F.relu(h)
        if features is not None:
            features[name] = h
        return h

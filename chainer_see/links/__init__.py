"""Chainer links of the SEE model (blocks, localization and recognition networks, SEE)."""
from chainer_see.links.basic import BatchNorm2D  # noqa: F401
from chainer_see.links.basic import Conv2D  # noqa: F401
from chainer_see.links.localization import LocalizationNet  # noqa: F401
from chainer_see.links.localization import localization_feature_shape  # noqa: F401
from chainer_see.links.ops import reference_ops  # noqa: F401
from chainer_see.links.recognition import RecognitionNet  # noqa: F401
from chainer_see.links.recognition import recognition_feature_shape  # noqa: F401
from chainer_see.links.residual import ResidualBlock  # noqa: F401
from chainer_see.links.see import SEE  # noqa: F401
from chainer_see.links.see import SEEOutput  # noqa: F401

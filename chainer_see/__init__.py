"""chainer-see: SEE (Bartz et al., AAAI 2018) in Chainer + CuPy.

One network that learns to find text regions and read them, trained on text labels only.
"""
from chainer_see import _warnings  # noqa: F401  (before chainer is imported)

from chainer_see.config import SEEConfig  # noqa: F401,E402
from chainer_see.links.see import SEE  # noqa: F401,E402
from chainer_see.links.see import SEEOutput  # noqa: F401,E402
from chainer_see.model_io import load_model  # noqa: F401,E402
from chainer_see.model_io import read_model_info  # noqa: F401,E402
from chainer_see.model_io import save_model  # noqa: F401,E402

__version__ = '0.1.0'

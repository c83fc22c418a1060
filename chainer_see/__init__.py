"""chainer-see: SEE (Bartz et al., AAAI 2018) in Chainer + CuPy.

One network that learns to find text regions and read them, trained on text labels only.
"""
from chainer_see import _warnings  # noqa: F401  (before chainer is imported)

__version__ = '0.1.0'

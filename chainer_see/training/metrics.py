"""Moved to :mod:`chainer_see.evaluation.metrics`; this name is the same module object.

Kept while ``training/__init__.py``, ``training/loss.py`` and ``training/train_chain.py``
still import ``chainer_see.training.metrics`` (issue 16); new code imports
``chainer_see.evaluation.metrics``.
"""
import sys

from chainer_see.evaluation import metrics as _metrics

sys.modules[__name__] = _metrics

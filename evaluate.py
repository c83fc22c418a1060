#!/usr/bin/env python
"""Evaluate a SEE model file on its held-out set (or --dataset / --gt); see --help.

    python evaluate.py model.npz
    python evaluate.py model.npz --dataset svhn --data-dir data --out eval --visualize 20
    python evaluate.py published.npz --preset svhn --gt data/svhn/test/gt.tsv
"""
import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

import chainer_see  # noqa: E402,F401  (quiets CuPy's notes before chainer is imported)
from chainer_see.evaluation.evaluate import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())

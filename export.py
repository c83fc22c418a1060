#!/usr/bin/env python
"""Write a SEE model file as ONNX, checked in onnxruntime; see --help.

    python export.py result/model.npz see.onnx
    python predict.py --backend onnxruntime see.onnx photo.jpg
"""
import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

import chainer_see  # noqa: E402,F401  (quiets CuPy's notes before chainer is imported)
from chainer_see.export.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())

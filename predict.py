#!/usr/bin/env python
"""Read the words in image files with a SEE model file; see --help.

    python predict.py model.npz photo.jpg sign.png          # annotated copies in predictions/
    python predict.py model.npz *.png --json --no-draw
"""
import os
import sys

_ROOT = os.path.dirname(os.path.abspath(__file__))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

import chainer_see  # noqa: E402,F401  (quiets CuPy's notes before chainer is imported)
from chainer_see.evaluation.predict import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())

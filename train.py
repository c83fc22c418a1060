#!/usr/bin/env python
"""Train SEE.  ``python train.py --help`` lists every option; the logic lives in
``chainer_see.training`` (``cli.main``)."""
import sys

import chainer_see  # noqa: F401  (silences CuPy's notes before chainer is imported)
from chainer_see.training.cli import main

if __name__ == '__main__':
    sys.exit(main())

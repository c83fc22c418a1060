"""Datasets, ground-truth formats and synthetic data.

- :class:`GroundTruthDataset`: images + labels from a ground-truth file (published SEE
  format, its text-recognition variant, or the readable variant), with true boxes
  when a boxes JSON lies beside it.
- :class:`SyntheticDataset`: ``svhn-crops``, ``svhn-grid``, ``svhn-random``,
  ``fsns-like``, generated on the fly, deterministic per seed.
- :class:`PaddedLabels`: labels padded to more word slots / characters (curriculum).
- :func:`load_curriculum`: curriculum JSON -> levels with resolved paths.
- :class:`DataError`: every bad-input error (message ``file:line: reason``).

Examples are ``(image float32 (3, H, W) RGB in [0, 1], labels int32 (N, T))``.
"""
from chainer_see.data.char_map import CharMap  # noqa: F401
from chainer_see.data.datasets import GroundTruthDataset, PaddedLabels  # noqa: F401
from chainer_see.data.errors import DataError  # noqa: F401
from chainer_see.data.ground_truth import (  # noqa: F401
    CurriculumLevel, load_curriculum, read_ground_truth)
from chainer_see.data.image import load_image  # noqa: F401
from chainer_see.data.reading_order import reading_order  # noqa: F401
from chainer_see.data.synthetic import SyntheticDataset  # noqa: F401

"""Evaluation and prediction: figures, reports, tables and annotated images.

- :mod:`~chainer_see.evaluation.boxes`: ``box_iou``, ``box_area``, ``reading_order_ious``.
- :mod:`~chainer_see.evaluation.inference`: device choice, the test-mode forward, words,
  boxes and confidences of a batch.
- :mod:`~chainer_see.evaluation.evaluate`: ``evaluate.py`` (held-out set of a model,
  figures, ``report.json``, ``predictions.csv``, annotated images).
- :mod:`~chainer_see.evaluation.predict`: ``predict.py`` (arbitrary image files).
- :mod:`~chainer_see.evaluation.visual_backprop`: VisualBackprop masks of the
  localization network (``visual_backprop``, ``localization_heatmaps``) and
  ``python -m chainer_see.evaluation.visual_backprop``.
- :mod:`~chainer_see.evaluation.tables`: the paper's Tables 1 and 2.
- :mod:`~chainer_see.evaluation.draw`: ``draw_boxes`` (image + boxes + words -> image).
"""
from chainer_see.evaluation.boxes import box_area, box_iou, reading_order_ious  # noqa: F401
from chainer_see.evaluation.draw import draw_boxes  # noqa: F401

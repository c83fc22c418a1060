"""Trainer extensions: curriculum switching, localization-only restarts, box pictures,
the IoU of the boxes against the true ones,
the NaN guard, the budget-aware learning-rate schedule."""
from chainer_see.training.extensions.bbox_plotter import BBoxPlotter  # noqa: F401
from chainer_see.training.extensions.box_iou import BoxIoUReport  # noqa: F401
from chainer_see.training.extensions.curriculum import CurriculumSwitch  # noqa: F401
from chainer_see.training.extensions.lr_schedule import BudgetLinearShift  # noqa: F401
from chainer_see.training.extensions.nan_guard import NaNGuard, NonFiniteError  # noqa: F401
from chainer_see.training.extensions.restart import LocalizationRestart  # noqa: F401

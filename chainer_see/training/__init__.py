"""Training SEE: loss, metrics, the training chain, Trainer extensions and ``train.py``'s run.

- ``SEELoss`` (``loss``), and ``chainer_see.evaluation.metrics`` (re-exported as
  ``metrics``): step 2.
- ``TrainChain``: model + loss, reports every part (``main/loss``, ``main/sequence_accuracy``, ``main/slot_accuracy``, ...).
- ``SEETraining``: builds model, data, optimizer, updater, trainer and extensions from
  ``train.py``'s options and runs them (``build``); ``cli.main`` is ``train.py``.
- ``make_optimizer`` / ``reset_update_rules``: Adam + weight decay + clipping, and
  per-part resets of its state (``optimizer``).
- ``CurriculumData``: training/validation data per curriculum level (``data``).
- ``plan_devices``: ``--gpus`` / ``--mpi`` -> devices, updater, communicator (``devices``).
- Extensions (``extensions``): ``CurriculumSwitch``, ``LocalizationRestart``,
  ``BBoxPlotter``, ``NaNGuard``; snapshots that survive a kill: ``Snapshot``.
"""
from chainer_see.evaluation import metrics  # noqa: F401
from chainer_see.training.build import SEETraining, default_options  # noqa: F401
from chainer_see.training.data import CurriculumData, make_iterator  # noqa: F401
from chainer_see.training.devices import DevicePlan, plan_devices  # noqa: F401
from chainer_see.training.extensions import (  # noqa: F401
    BBoxPlotter, CurriculumSwitch, LocalizationRestart, NaNGuard, NonFiniteError)
from chainer_see.training.loss import SEELoss  # noqa: F401
from chainer_see.training.optimizer import (  # noqa: F401
    make_optimizer, reset_update_rules)
from chainer_see.training.snapshots import Snapshot, latest_snapshot  # noqa: F401
from chainer_see.training.train_chain import TrainChain  # noqa: F401

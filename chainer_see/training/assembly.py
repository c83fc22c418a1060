"""The parts of a training run, one function each, in the order ``SEETraining`` makes them.

devices (:func:`make_devices`) -> data (:func:`make_levels`, :func:`settle_model_preset`,
:func:`make_data`) -> model (:func:`model_config`, :func:`make_model`,
:func:`load_part`) -> loss (:func:`make_loss`) -> :func:`make_chain` ->
:func:`make_optimizer` -> iterators (:func:`level_iterators`) -> :func:`make_updater`
-> :func:`make_evaluator` and the Trainer extensions (:func:`make_nan_guard`,
:func:`add_theta_guard`, :func:`make_snapshot`, :func:`make_curriculum`,
:func:`make_restart`, :func:`add_lr_extensions`; those of the writer only: ``reports``).

Every function takes what it needs as arguments and keeps no state; the run object
(``build.SEETraining``) holds the parts and calls them.
"""
import functools
import os
import signal

import numpy

import chainer
from chainer import training
from chainer.training import extensions

from chainer_see.config import SEEConfig
from chainer_see.data import presets
from chainer_see.links.see import SEE
from chainer_see.model_io import load_model
from chainer_see.training import devices as devices_module
from chainer_see.training import optimizer as optimizer_module
from chainer_see.training.data import CurriculumData
from chainer_see.training.data import make_iterator
from chainer_see.training.extensions.curriculum import CurriculumSwitch
from chainer_see.training.extensions.lr_schedule import BudgetLinearShift
from chainer_see.training.extensions.nan_guard import NaNGuard
from chainer_see.training.extensions.nan_guard import ThetaGuard
from chainer_see.training.extensions.restart import LocalizationRestart
from chainer_see.training.levels import LevelIterator
from chainer_see.training.loss import SEELoss
from chainer_see.training.options import file_char_map
from chainer_see.training.options import guess_model_preset
from chainer_see.training.options import loss_arguments
from chainer_see.training.snapshots import Snapshot
from chainer_see.training.train_chain import TrainChain

#: The one localization array whose shape depends on the image size: the input weights of
#: the LSTM that reads the flattened pooled feature (see :func:`load_part`)
RESIZED_INPUT = 'lstm/upward/W'


def seeded(seed):
    """Context manager running code under ``numpy.random.seed(seed)``, then restoring."""
    class _Ctx(object):
        def __enter__(self):
            self.state = numpy.random.get_state()
            numpy.random.seed(seed % (2 ** 32))

        def __exit__(self, *exc):
            numpy.random.set_state(self.state)
            return False
    return _Ctx()


# ---------------------------------------------------------------------- devices
def make_devices(options):
    """``(plan, comm)``: the ``devices.DevicePlan`` of ``--gpus`` / ``--mpi`` (checked),
    and the ChainerMN communicator (``None`` without ``--mpi``).  Makes the device
    current (a single GPU) or tunes malloc (CPU)."""
    comm = None
    if options.mpi:
        devices_module.check_plan(devices_module.plan_devices(None, True))
        import chainermn
        ids = devices_module.parse_gpus(options.gpus)
        comm = chainermn.create_communicator('pure_nccl' if ids else 'naive')
        plan = devices_module.plan_devices(ids, True, comm.rank, comm.size, comm.intra_rank)
    else:
        plan = devices_module.plan_devices(options.gpus, False)
    devices_module.check_plan(plan)
    if plan.device != devices_module.CPU:
        if plan.updater == 'standard':   # the multi-GPU master must not touch CUDA
            chainer.get_device(plan.device).use()   # before its workers fork
    else:
        from chainer_see.runtime import tune_malloc
        tune_malloc()
    return plan, comm


# ---------------------------------------------------------------------- data
def make_levels(options, image_size, given_levels=None):
    """The curriculum levels (``presets.Level``) of ``--dataset``, read at ``image_size``
    (``None``: the files' own); ``given_levels`` (tests, experiments) replace them."""
    if given_levels is not None:
        return list(given_levels)
    o = options
    return presets.curriculum_levels(
        o.dataset, data_dir=o.data_dir, image_size=image_size, seed=o.seed,
        validation_size=o.validation_size, skip_bad=o.skip_bad, char_map=file_char_map(o))


def settle_model_preset(levels, model_preset, resize):
    """``model_preset``, or the one :func:`options.guess_model_preset` finds for the
    levels' training sets; after a guess, ``resize`` sets every set to its input size."""
    if model_preset is not None:
        return model_preset
    model_preset = guess_model_preset([lv.train for lv in levels])
    if resize:
        size = SEEConfig.preset(model_preset).image_size
        for level in levels:
            for ds in (level.train, level.validation):
                ds.set_image_size(size)
    return model_preset


def box_arguments(options):
    """``CurriculumData``'s box arguments: ``--box-fraction``, chosen by ``--seed``."""
    return dict(box_fraction=float(getattr(options, 'box_fraction', 0.0) or 0.0),
                box_seed=int(options.seed))


def make_data(levels, options, plan):
    """The ``CurriculumData`` of this process (its shard of the data under ``--mpi``)."""
    return CurriculumData(levels, curriculum=not options.no_curriculum,
                          mix=options.curriculum_mix,
                          shard_index=plan.rank if options.mpi else 0,
                          shard_count=plan.size if options.mpi else 1,
                          **box_arguments(options))


def train_iterator(data, levels, options, plan, level, replica=0):
    """The training iterator of ``level`` for device ``replica`` (several GPUs of one
    process: one shard each; else this process's data, ``replica`` 0)."""
    o = options
    if plan.updater == 'multiprocess':
        data = CurriculumData(levels, curriculum=not o.no_curriculum, mix=o.curriculum_mix,
                              shard_index=replica, shard_count=len(plan.devices),
                              **box_arguments(o))
        seed = o.seed + 101 * replica + level
    else:
        seed = o.seed + 101 * plan.rank + level
    ds, shuffle = data.train(level)
    return make_iterator(ds, o.batch_size, train=True, shuffle=shuffle, seed=seed,
                         loader=o.loader, workers=o.loader_workers)


def level_iterators(curriculum, data, levels, options, plan):
    """The training iterators of the run, one per device (several GPUs of one process),
    each a ``levels.LevelIterator``: that of ``curriculum``'s current level."""
    K = len(plan.devices) if plan.updater == 'multiprocess' else 1
    return [LevelIterator(curriculum, functools.partial(
        train_iterator, data, levels, options, plan, replica=k)) for k in range(K)]


def validation_iterator(data, level, batch_size):
    """The validation iterator of ``level`` (one pass, in order)."""
    return make_iterator(data.validation(level), batch_size, train=False)


def probe_images(dataset, count=32):
    """The first ``count`` images of ``dataset``, stacked: the restart rule's probe."""
    return numpy.stack([dataset[i][0] for i in range(min(count, len(dataset)))])


def predicted_boxes(model, images, image_size):
    """The boxes ``model`` predicts for ``images`` (test mode, no graph), in units of
    the image side (``image_size``: ``(H, W)``); float64 on the CPU."""
    out = model.infer(images)
    boxes = numpy.asarray(chainer.backend.CpuDevice().send(out.boxes), dtype=numpy.float64)
    H, W = image_size
    return boxes / numpy.array([W - 1, H - 1, W - 1, H - 1], dtype=numpy.float64)


# ---------------------------------------------------------------------- model and loss
def model_config(model_preset, data, levels, options, overrides):
    """The ``SEEConfig`` of the run: ``model_preset`` with N and T of the first level's
    labels, its char map and image size, ``--slot-layout`` / ``--loc-input-size``, then
    ``overrides`` (tests, experiments)."""
    N, T = data.label_shape(0)
    cm = levels[0].train.char_map
    char_map = cm.name if cm.name in ('svhn', 'fsns') else cm.to_list()
    image_size = levels[0].train.image_size
    fields = dict(num_regions=N, num_chars=T, num_classes=len(cm), char_map=char_map,
                  image_size=tuple(image_size))
    if options.slot_layout is not None:
        fields['slot_layout'] = options.slot_layout
    if options.loc_input_size is not None:
        fields['loc_input_size'] = options.loc_input_size
    fields.update(overrides)
    return SEEConfig.preset(model_preset, **fields)


def make_model(config, seed):
    """A fresh ``SEE`` of ``config``, its weights drawn under ``seed``."""
    with seeded(seed):
        return SEE(config)


def load_part(model, path, part, log):
    """Copy one network's weights (and BN statistics) from the model file ``path``.

    ``part`` is ``'localization'`` or ``'recognition'``.  The other network keeps its
    fresh initial weights.  A localization network trained on another image size (the
    64x64 crops as the first step of a 128x128 grid curriculum) differs only in the
    input weights of its LSTM (``lstm/upward/W``, one per pixel of the pooled feature):
    those start fresh, everything else is copied, and ``log`` says so (with
    ``--loc-input-size`` at the other model's size nothing differs: all of it loads).  Any other
    difference is a ``ValueError`` naming the file and the first mismatching arrays.
    """
    src = getattr(load_model(path), part + '_net')
    target = getattr(model, part + '_net')
    theirs = chainer.serializers.DictionarySerializer()
    theirs.save(src)
    own = chainer.serializers.DictionarySerializer()
    own.save(target)
    wrong = sorted(k for k in own.target if k not in theirs.target
                   or theirs.target[k].shape != own.target[k].shape)
    if part == 'localization' and wrong == [RESIZED_INPUT]:
        theirs.target[RESIZED_INPUT] = own.target[RESIZED_INPUT]
        log('localization weights loaded from %s except %s: it was trained on '
            '%dx%d images, this model reads %dx%d (that array starts fresh)'
            % ((path, RESIZED_INPUT) + tuple(src.read_size) + tuple(target.read_size)))
        wrong = []
    if wrong:
        raise ValueError('%s: its %s network does not fit this model (%s); '
                         'train with the same --model / image size / crop size'
                         % (path, part, ', '.join(wrong[:4])))
    chainer.serializers.NpzDeserializer(theirs.target, strict=True).load(target)
    if part != 'localization' or src.read_size == target.read_size:
        log('%s weights loaded from %s' % (part, path))


def freeze(model, part):
    """Keep the network ``part`` (``--freeze``: ``'localization'``, ``'recognition'`` or
    ``None``, nothing) as it is: its parameters get no updates (gradients still flow
    through it to the other network).  Its BatchNorm layers still follow the batch
    statistics, as everywhere in training mode."""
    if part:
        getattr(model, part + '_net').disable_update()


def apply_shape(model, label_shape):
    """Set ``model``'s N and T to ``label_shape`` (a level's ``(N, T)``)."""
    N, T = label_shape
    model.set_num_regions(N)
    if T != model.num_chars:
        model.set_num_chars(T)


def make_loss(loss_preset, config, options, defaults):
    """The ``SEELoss`` preset with the loss options (``options.loss_arguments``)."""
    return SEELoss.preset(loss_preset, config, **loss_arguments(options, defaults))


def make_chain(model, loss, plan):
    """The ``TrainChain``; several GPUs of one process scale the loss by 1 / devices."""
    scale = 1.0 / len(plan.devices) if plan.updater == 'multiprocess' else 1.0
    return TrainChain(model, loss, loss_scale=scale)


def make_optimizer(chain, options, comm=None):
    """Adam + weight decay + clipping (``optimizer.make_optimizer``); ChainerMN's
    multi-node optimizer with a communicator."""
    opt = optimizer_module.make_optimizer(chain, lr=options.lr,
                                          weight_decay=options.weight_decay, clip=options.clip)
    if comm is not None:
        import chainermn
        opt = chainermn.create_multi_node_optimizer(opt, comm)
    return opt


def check_freeze(options):
    """``--freeze recognition`` with restarts is a ``ValueError``: a restart replaces the
    network that should stay as it is."""
    if options.freeze == 'recognition' and options.max_restarts:
        raise ValueError('--freeze recognition and --max-restarts %d contradict each '
                         'other: a restart replaces the recognition network'
                         % options.max_restarts)


# ---------------------------------------------------------------------- updater
def make_updater(plan, iterators, optimizer, chain, replica_context):
    """``StandardUpdater`` on one device (the chain sent there), or
    ``parallel.SEEMultiprocessUpdater`` over the plan's devices (``replica_context``:
    what the module-level functions the workers are sent need: the ``Curriculum``)."""
    if plan.updater == 'multiprocess':
        from chainer_see.training.parallel import SEEMultiprocessUpdater
        return SEEMultiprocessUpdater(iterators, optimizer, plan.devices,
                                      replica_context=replica_context)
    if plan.device != devices_module.CPU:
        chain.to_device(plan.device)
    return training.updaters.StandardUpdater(iterators[0], optimizer, device=plan.device)


# ---------------------------------------------------------------------- extensions
def make_evaluator(iterator, chain, device, comm=None):
    """The validation ``Evaluator`` (ChainerMN's multi-node one with a communicator)."""
    ev = extensions.Evaluator(iterator, chain, device=device)
    if comm is not None:
        import chainermn
        ev = chainermn.create_multi_node_evaluator(ev, comm)
    return ev


def make_nan_guard(model, last_snapshot):
    """The ``NaNGuard`` of ``main/loss`` and the weights of ``model``, checked every
    iteration (it judges every state a snapshot is taken of)."""
    return NaNGuard(('main/loss',), target=model, param_interval=1,
                    last_snapshot=last_snapshot)


def add_theta_guard(model, iteration, last_snapshot):
    """Hook a ``ThetaGuard`` on the localization network (once per model)."""
    loc = model.localization_net
    if not any(isinstance(h, ThetaGuard) for h in loc.local_link_hooks.values()):
        loc.add_hook(ThetaGuard(iteration=iteration, last_snapshot=last_snapshot))


def make_snapshot(options, model, on_error_save, writer, health, log):
    """The ``Snapshot`` extension (``--keep-snapshots``)."""
    return Snapshot(keep=options.keep_snapshots, check=model, on_error_save=on_error_save,
                    writer=writer, health=health, log=log)


def make_curriculum(options, curriculum, out, comm, log):
    """The ``CurriculumSwitch`` of the ``--curriculum-*`` options over ``curriculum`` (a
    ``levels.Curriculum``); ``OUT/next_level`` and SIGUSR1 move on by hand."""
    o = options
    return CurriculumSwitch(
        curriculum, window=o.curriculum_window, threshold=o.curriculum_threshold,
        rule=o.curriculum_rule, min_accuracy=o.curriculum_accuracy,
        rise=o.curriculum_rise,
        trigger_file=os.path.join(out, 'next_level'),
        signal_number=getattr(signal, 'SIGUSR1', None), comm=comm, log=log)


def make_restart(options, reset, probe, curriculum, comm, log):
    """The ``LocalizationRestart`` of the ``--max-restarts`` / ``--restart-*`` options
    (its window starts anew when ``curriculum`` changes level)."""
    o = options
    return LocalizationRestart(
        reset, probe=probe, curriculum=curriculum, max_restarts=o.max_restarts,
        interval=o.restart_interval, window=o.curriculum_window,
        box_tolerance=o.restart_tolerance, min_improvement=o.restart_improvement,
        comm=comm, log=log)


def add_lr_extensions(trainer, options, optimizer, time_limit):
    """Report ``lr`` every iteration; with ``--lr-final``, the ``BudgetLinearShift``
    from ``--lr`` to it over the iterations or ``time_limit`` (seconds)."""
    o = options
    trainer.extend(extensions.observe_value(
        'lr', lambda t: optimizer_module.actual_optimizer(optimizer).alpha),
        trigger=(1, 'iteration'))
    if o.lr_final is not None and o.lr_final != o.lr:
        trainer.extend(BudgetLinearShift(
            'alpha', (o.lr, o.lr_final), o.iterations, time_limit=time_limit,
            start=o.lr_decay_start, optimizer=optimizer_module.actual_optimizer(optimizer)))

"""Everything ``train.py`` builds from its options, and the training run itself.

``SEETraining(options)`` builds, in this order: the device plan (``devices``), the
curriculum levels of ``--dataset`` (``presets.curriculum_levels`` -> ``CurriculumData``),
the model (``SEEConfig`` preset of the dataset, N and T from the first level's labels),
the loss (``SEELoss`` preset plus the per-dataset defaults below and the command-line
weights), the ``TrainChain``, the optimizer (Adam + weight decay + clipping; ChainerMN's
multi-node optimizer with ``--mpi``), iterators, updater (standard, or
``SEEMultiprocessUpdater`` for several GPUs), the ``Trainer`` and its extensions.
``run()`` resumes if asked, trains, and writes the final snapshot and ``model.npz``.

``options`` is the ``argparse.Namespace`` of ``chainer_see.training.cli`` (or
``default_options(**changes)``); entries left ``None`` take the dataset's defaults
(``TRAINING_DEFAULTS``).
"""
import json
import math
import os
import signal
import sys
import weakref

import numpy

import chainer
from chainer import training
from chainer.training import extensions

from chainer_see.atomic import atomic_file
from chainer_see.config import SEEConfig
from chainer_see.data import presets
from chainer_see.links.see import SEE
from chainer_see.model_io import load_model
from chainer_see.model_io import read_model_info
from chainer_see.model_io import save_model
from chainer_see.training import devices as devices_module
from chainer_see.training import optimizer as optimizer_module
from chainer_see.training import run_folder
from chainer_see.training.data import CurriculumData
from chainer_see.training.data import make_iterator
from chainer_see.training.extensions.bbox_plotter import BBoxPlotter
from chainer_see.training.extensions.box_iou import BoxIoUReport
from chainer_see.training.extensions.curriculum import CurriculumSwitch
from chainer_see.training.extensions.lr_schedule import BudgetLinearShift
from chainer_see.training.extensions.nan_guard import NaNGuard
from chainer_see.training.extensions.nan_guard import NonFiniteError
from chainer_see.training.extensions.nan_guard import ThetaGuard
from chainer_see.training.extensions.nan_guard import first_non_finite_param
from chainer_see.training.extensions.restart import LocalizationRestart
from chainer_see.training.loss import SEELoss
from chainer_see.training.snapshots import Snapshot
from chainer_see.training.snapshots import SnapshotWithheld
from chainer_see.training.snapshots import describe_saves
from chainer_see.training.snapshots import latest_snapshot
from chainer_see.training.snapshots import read_value
from chainer_see.training.snapshots import save_each
from chainer_see.training.snapshots import snapshot_name
from chainer_see.training.train_chain import TrainChain

#: The one localization array whose shape depends on the image size: the input weights of
#: the LSTM that reads the flattened pooled feature (see ``SEETraining.load_part``)
RESIZED_INPUT = 'lstm/upward/W'

#: Per-dataset defaults of the options left unset.  synthetic-svhn (the default run) is
#: measured on 2 shared CPU cores: batch 32 runs ~80 images/s (batch 16: ~64/s, 64: ~85/s,
#: no better per image), so 1500 iterations take about 10 minutes; Adam alpha 1e-3
#: learned faster than 2e-3 and than batch 16, and a linear decay to 0 over the 10 minutes
#: ended lower (35 % validation accuracy against 41 % constant).  The text loss alone
#: shrinks the initial zoom-0.9 box (81 % of the image) to ~56 % with IoU ~0.65 against
#: the true box, so no area regularizer.  The other presets are starting points (not
#: measured here): smaller batches for the 200x200 and FSNS images, alpha 1e-4 for the
#: FSNS model (the published run's).
TRAINING_DEFAULTS = {
    'synthetic-svhn': dict(iterations=1500, batch_size=32, lr=1e-3, test_interval=100,
                           area_weight=0.0, area_scale=0.0),
    'svhn': dict(iterations=20000, batch_size=32, lr=1e-3, test_interval=500,
                 area_weight=0.0, area_scale=0.0),
    'synthetic-grid': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-grid4': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-grid128': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=250),
    'svhn-grid': dict(iterations=20000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-random': dict(iterations=40000, batch_size=16, lr=1e-3, test_interval=500),
    'svhn-random': dict(iterations=40000, batch_size=16, lr=1e-3, test_interval=500),
    'synthetic-fsns': dict(iterations=100000, batch_size=8, lr=1e-4, test_interval=1000),
    'fsns': dict(iterations=300000, batch_size=8, lr=1e-4, test_interval=2000),
}
#: Defaults of a ``--dataset`` path (by the model preset it fits).
PATH_DEFAULTS = {'svhn': 'svhn', 'svhn-grid': 'svhn-grid', 'fsns': 'fsns',
                 'fsns-paper': 'fsns'}
#: Options every run shares (the command line's defaults).
COMMON_DEFAULTS = dict(
    dataset='synthetic-svhn', data_dir='data', model=None, out='result', iterations=None,
    time_limit=None, batch_size=None, lr=None, lr_final=None, lr_decay_start=0.0,
    weight_decay=5e-4,
    clip=2.0, seed=0, validation_size=256, test_interval=None, log_interval=None,
    snapshot_interval=None, keep_snapshots=2, plot_interval=None, plot_images=4,
    heatmaps=False, no_gif=False, loss_mode=None, area_weight=None, area_scale=None,
    aspect_weight=None, direction_weight=None, height_hinge=None, outside_weight=None,
    slot_layout=None, loc_input_size=None, no_curriculum=False,
    curriculum_window=5, curriculum_threshold=0.1, curriculum_rule='loss',
    curriculum_accuracy=0.8, curriculum_rise=0.01, max_restarts=0, restart_interval=0,
    restart_tolerance=0.005, restart_improvement=0.05, load_localization=None,
    load_recognition=None, freeze=None, char_map=None,
    resume=False, overwrite=False, gpus=None, mpi=False, loader='serial', loader_workers=2,
    skip_bad=False, save_rank_models=False, quiet=False, box_fraction=0.0, box_weight=1.0)
LOSS_OPTIONS = (('loss_mode', 'mode'), ('area_weight', 'area_weight'),
                ('area_scale', 'area_accuracy_scale'), ('aspect_weight', 'aspect_weight'),
                ('direction_weight', 'direction_weight'), ('height_hinge', 'height_hinge'),
                ('outside_weight', 'outside_weight'), ('box_weight', 'box_weight'))


def default_options(**changes):
    """An options namespace as the command line would give it, with ``changes``."""
    import argparse
    opts = dict(COMMON_DEFAULTS)
    unknown = sorted(set(changes) - set(opts))
    if unknown:
        raise ValueError('unknown training option(s): %s' % ', '.join(unknown))
    opts.update(changes)
    return argparse.Namespace(**opts)


def dataset_defaults(dataset, model_preset=None):
    """The ``TRAINING_DEFAULTS`` entry of ``--dataset`` (a path: by its model preset)."""
    if not presets.is_path(dataset):
        return dict(TRAINING_DEFAULTS.get(dataset, TRAINING_DEFAULTS['svhn']))
    return dict(TRAINING_DEFAULTS[PATH_DEFAULTS.get(model_preset, 'svhn')])


def file_char_map(options):
    """The char map ground-truth files are read with: ``--char-map``, else the char map
    of ``--model``'s preset, else ``None`` (the dataset preset's; ``svhn`` for a path)."""
    if getattr(options, 'char_map', None):
        return options.char_map
    if options.model:
        return SEEConfig.preset(options.model).char_map
    return None


def guess_model_preset(datasets):
    """Model preset for ground-truth files without ``--model`` (``datasets``: the training
    sets of all levels): ``fsns`` for multi-view data (a boxes file with ``views`` > 1, or
    FSNS-character labels on images four times as wide as high), else ``svhn`` when
    every level has one word per image, else ``svhn-grid``.  Like ``--model``, the guess
    sets the input size the images are resized to."""
    first = datasets[0]
    if (getattr(first, 'num_views', 1) or 1) > 1:
        return 'fsns'
    H, W = first.image_size
    if getattr(first.char_map, 'name', None) == 'fsns' and W == 4 * H:
        return 'fsns'
    return 'svhn' if max(int(d.num_words) for d in datasets) == 1 else 'svhn-grid'


class StopTrigger(object):
    """Stops at ``iterations``, after ``time_limit`` seconds, or when ``request()``-ed.

    The time is the trainer's ``elapsed_time``, which snapshots carry, so a resumed run
    stops when its whole training (before and after the resume) used the limit.
    """

    def __init__(self, iterations, time_limit=None):
        self.iterations = int(iterations)
        self.time_limit = time_limit
        self.reason = None
        self.time_up = False

    def request(self, reason):
        if self.reason is None:
            self.reason = reason

    def __call__(self, trainer):
        if trainer.updater.iteration >= self.iterations:
            return True
        if self.time_limit is not None and trainer.elapsed_time >= self.time_limit:
            self.time_up = True
            self.request('time limit of %.1f minutes reached' % (self.time_limit / 60.0))
        return self.reason is not None

    def get_training_length(self):
        return self.iterations, 'iteration'


def _seeded(seed):
    """Context manager running code under ``numpy.random.seed(seed)``, then restoring."""
    class _Ctx(object):
        def __enter__(self):
            self.state = numpy.random.get_state()
            numpy.random.seed(seed % (2 ** 32))

        def __exit__(self, *exc):
            numpy.random.set_state(self.state)
            return False
    return _Ctx()


# ---------------------------------------------------------------------- replica functions
# Module-level, so that the multi-GPU updater can send them to its worker processes.
def _replica_set_level(worker, level):
    ctx = worker.context
    old = worker.iterator
    worker.iterator = ctx.train_iterators(level)[worker.proc_id]
    ctx.apply_shape(worker.model.model, level)
    old.finalize()


def _replica_reset(worker, seed):
    with _seeded(seed):
        worker.model.model.reset_recognition()


class SEETraining(object):
    """One training run (see the module docstring).

    ``levels`` (a list of ``presets.Level``) replaces the data of ``--dataset`` and
    ``config_overrides`` (``SEEConfig`` fields) changes the model, for tests and
    experiments with small networks; ``train.py`` passes neither.

    Attributes: ``options``, ``plan``, ``comm``, ``writer`` (this process writes files),
    ``levels``, ``data`` (``CurriculumData``), ``config``, ``model``, ``loss``,
    ``chain``, ``optimizer``, ``updater``, ``evaluator``, ``trainer``, ``level``,
    ``curriculum``, ``restart``, ``plotter``, ``snapshot``, ``stop``.
    """

    def __init__(self, options, log=None, levels=None, config_overrides=None):
        self.options = options
        self._log = log
        self._given_levels = levels
        self._config_overrides = dict(config_overrides or {})
        self.level = 0
        self.comm = None
        self.interrupted = None     # 'Ctrl-C' or 'SIGTERM' once a stop signal arrived
        self.saves = []             # [(path, error)]: the writes after an error or at the end
        self._setup_devices()
        self.writer = devices_module.is_writer(self.plan)
        self.out = options.out
        self.folder = self._claim_folder()     # before any work: lock, ownership, --resume
        try:
            self._setup_data()
            self._setup_model()
            self._setup_trainer()
        except BaseException:
            self.release_folder()
            raise

    def _claim_folder(self):
        """Lock ``--out`` and check it under the rules of ``run_folder`` (the writer
        only; under MPI every rank learns the writer's verdict and the snapshot to resume).
        Returns the ``run_folder.Claim`` (``None`` on other ranks); ``RunFolderError``."""
        o = self.options
        claim = problem = None
        if self.writer:
            try:
                claim = run_folder.claim(self.out, resume=o.resume,
                                         overwrite=getattr(o, 'overwrite', False))
            except run_folder.RunFolderError as e:
                problem = str(e)
        resume_from = claim.resume_from if claim is not None else None
        if self.comm is not None and self.comm.size > 1:
            problem, resume_from = self.comm.bcast_obj(       # the root sends, others get
                (problem, resume_from) if self.writer else None)
        if problem:
            if claim is not None:
                claim.release()
            raise run_folder.RunFolderError(problem)
        self._resume_from = resume_from
        if claim is not None:
            weakref.finalize(self, claim.release)    # a run built but never run()
            for line in claim.messages():
                if self._log is not None:
                    self._log(line)
                else:
                    print('train.py: %s' % line, file=sys.stderr, flush=True)
        return claim

    def release_folder(self):
        """Give back the lock of ``--out`` (``run()`` does at its end, also on error)."""
        if self.folder is not None:
            self.folder.release()

    # ------------------------------------------------------------------ messages
    def log(self, text):
        if self._log is not None:
            self._log(text)
        elif self.writer and not self.options.quiet:
            print(text, flush=True)

    # ------------------------------------------------------------------ devices
    def _setup_devices(self):
        o = self.options
        if o.mpi:
            devices_module.check_plan(devices_module.plan_devices(None, True))
            import chainermn
            ids = devices_module.parse_gpus(o.gpus)
            self.comm = chainermn.create_communicator('pure_nccl' if ids else 'naive')
            self.plan = devices_module.plan_devices(ids, True, self.comm.rank, self.comm.size,
                                                    self.comm.intra_rank)
        else:
            self.plan = devices_module.plan_devices(o.gpus, False)
        devices_module.check_plan(self.plan)
        if self.plan.device != devices_module.CPU:
            if self.plan.updater == 'standard':   # the multi-GPU master must not touch CUDA
                chainer.get_device(self.plan.device).use()   # before its workers fork
        else:
            from chainer_see.runtime import tune_malloc
            tune_malloc()

    # ------------------------------------------------------------------ data
    def _setup_data(self):
        o = self.options
        dataset = o.dataset
        model_preset = o.model
        image_size = None
        if not presets.is_path(dataset):
            preset = presets.get_preset(dataset)
            model_preset = model_preset or preset.model
            self.loss_preset = preset.loss
            if not preset.synthetic:
                image_size = SEEConfig.preset(model_preset).image_size
            elif getattr(o, 'char_map', None):
                raise ValueError('--char-map applies to ground-truth files; the synthetic '
                                 'dataset %s has its own char map' % dataset)
        elif model_preset:
            image_size = SEEConfig.preset(model_preset).image_size
        if self._given_levels is not None:      # programmatic use (tests, experiments)
            self.levels = list(self._given_levels)
        else:
            self.levels = presets.curriculum_levels(
                dataset, data_dir=o.data_dir, image_size=image_size, seed=o.seed,
                validation_size=o.validation_size, skip_bad=o.skip_bad,
                char_map=file_char_map(o))
        if model_preset is None:
            model_preset = guess_model_preset([lv.train for lv in self.levels])
            if self._given_levels is None:   # files: read at the guessed preset's size
                size = SEEConfig.preset(model_preset).image_size
                for level in self.levels:
                    for ds in (level.train, level.validation):
                        ds.set_image_size(size)
        if presets.is_path(dataset):
            self.loss_preset = 'fsns' if model_preset in ('fsns', 'fsns-paper') else 'svhn'
        self.model_preset = model_preset
        self.defaults = dataset_defaults(dataset, model_preset)
        for key, value in self.defaults.items():
            if getattr(o, key, None) is None:
                setattr(o, key, value)
        if o.iterations is None:
            o.iterations = self.defaults['iterations']
        for key in ('log_interval', 'plot_interval'):
            if getattr(o, key) is None:
                setattr(o, key, o.test_interval if key == 'plot_interval'
                        else max(1, min(o.test_interval, 50)))
        if o.snapshot_interval is None:
            o.snapshot_interval = o.test_interval
        self.data = CurriculumData(self.levels, curriculum=not o.no_curriculum,
                                   shard_index=self.plan.rank if o.mpi else 0,
                                   shard_count=self.plan.size if o.mpi else 1,
                                   **self._box_data())
        if self.data.box_fraction > 0:
            self.log('box labels: the true word boxes of a fixed %g of the training images '
                     '(chosen by image and --seed %d), box term weight %g'
                     % (self.data.box_fraction, o.seed, getattr(o, 'box_weight', 1.0)))

    def _box_data(self):
        """``CurriculumData``'s box arguments: ``--box-fraction``, chosen by ``--seed``."""
        o = self.options
        return dict(box_fraction=float(getattr(o, 'box_fraction', 0.0) or 0.0),
                    box_seed=int(o.seed))

    # ------------------------------------------------------------------ model and loss
    def _setup_model(self):
        o = self.options
        N, T = self.data.label_shape(0)
        cm = self.levels[0].train.char_map
        char_map = cm.name if cm.name in ('svhn', 'fsns') else cm.to_list()
        image_size = self.levels[0].train.image_size
        fields = dict(num_regions=N, num_chars=T, num_classes=len(cm), char_map=char_map,
                      image_size=tuple(image_size))
        if o.slot_layout is not None:
            fields['slot_layout'] = o.slot_layout
        if o.loc_input_size is not None:
            fields['loc_input_size'] = o.loc_input_size
        fields.update(self._config_overrides)
        self.config = SEEConfig.preset(self.model_preset, **fields)
        with _seeded(o.seed):
            self.model = SEE(self.config)
        for part in ('localization', 'recognition'):
            path = getattr(o, 'load_' + part)
            if path:
                self.load_part(path, part)
        self.supervision()
        self.loss = self._make_loss()
        self.data.check_fits(self.config, self.loss.word_weights)
        scale = 1.0 / len(self.plan.devices) if self.plan.updater == 'multiprocess' else 1.0
        self.chain = TrainChain(self.model, self.loss, loss_scale=scale)
        opt = optimizer_module.make_optimizer(self.chain, lr=o.lr, weight_decay=o.weight_decay,
                                              clip=o.clip)
        if self.comm is not None:
            import chainermn
            opt = chainermn.create_multi_node_optimizer(opt, self.comm)
        self.optimizer = opt
        if o.freeze == 'recognition' and o.max_restarts:
            raise ValueError('--freeze recognition and --max-restarts %d contradict each '
                             'other: a restart replaces the recognition network'
                             % o.max_restarts)
        self.freeze()

    def _make_loss(self):
        o = self.options
        kw = {}
        for opt_name, loss_name in LOSS_OPTIONS:
            value = getattr(o, opt_name)
            if value is None:
                value = self.defaults.get(opt_name)
            if value is not None:
                kw[loss_name] = value
        if kw.get('height_hinge') is not None and kw['height_hinge'] <= 0:
            kw['height_hinge'] = None      # --height-hinge 0 turns the hinge off
        return SEELoss.preset(self.loss_preset, self.config, **kw)

    def load_part(self, path, part):
        """Copy one network's weights (and BN statistics) from the model file ``path``.

        ``part`` is ``'localization'`` or ``'recognition'``.  The other network keeps its
        fresh initial weights.  A localization network trained on another image size (the
        64x64 crops as the first step of a 128x128 grid curriculum) differs only in the
        input weights of its LSTM (``lstm/upward/W``, one per pixel of the pooled feature):
        those start fresh, everything else is copied, and the log says so (with
        ``--loc-input-size`` at the other model's size nothing differs: all of it loads).  Any other
        difference is a ``ValueError`` naming the file and the first mismatching arrays.
        """
        src = getattr(load_model(path), part + '_net')
        target = getattr(self.model, part + '_net')
        theirs = chainer.serializers.DictionarySerializer()
        theirs.save(src)
        own = chainer.serializers.DictionarySerializer()
        own.save(target)
        wrong = sorted(k for k in own.target if k not in theirs.target
                       or theirs.target[k].shape != own.target[k].shape)
        if part == 'localization' and wrong == [RESIZED_INPUT]:
            theirs.target[RESIZED_INPUT] = own.target[RESIZED_INPUT]
            self.log('localization weights loaded from %s except %s: it was trained on '
                     '%dx%d images, this model reads %dx%d (that array starts fresh)'
                     % ((path, RESIZED_INPUT) + tuple(src.read_size)
                        + tuple(target.read_size)))
            wrong = []
        if wrong:
            raise ValueError('%s: its %s network does not fit this model (%s); '
                             'train with the same --model / image size / crop size'
                             % (path, part, ', '.join(wrong[:4])))
        chainer.serializers.NpzDeserializer(theirs.target, strict=True).load(target)
        if part != 'localization' or src.read_size == target.read_size:
            self.log('%s weights loaded from %s' % (part, path))

    def freeze(self):
        """Keep the network named by ``--freeze`` as it is: its parameters get no updates
        (gradients still flow through it to the other network).  Its BatchNorm layers
        still follow the batch statistics, as everywhere in training mode."""
        part = self.options.freeze
        if part:
            getattr(self.model, part + '_net').disable_update()

    # ------------------------------------------------------------------ iterators
    def train_iterators(self, level):
        """Training iterators of ``level``: one, or one per device (multi-GPU)."""
        o = self.options
        if self.plan.updater == 'multiprocess':
            K = len(self.plan.devices)
            data = CurriculumData(self.levels, curriculum=not o.no_curriculum,
                                  shard_index=0, shard_count=K, **self._box_data())
            out = []
            for k in range(K):
                data.shard_index = k
                ds, shuffle = data.train(level)
                out.append(make_iterator(ds, o.batch_size, train=True, shuffle=shuffle,
                                         seed=o.seed + 101 * k + level, loader=o.loader,
                                         workers=o.loader_workers))
            return out
        ds, shuffle = self.data.train(level)
        return [make_iterator(ds, o.batch_size, train=True, shuffle=shuffle,
                              seed=o.seed + 101 * self.plan.rank + level, loader=o.loader,
                              workers=o.loader_workers)]

    def validation_iterator(self, level):
        return make_iterator(self.data.validation(level), self.options.batch_size, train=False)

    def apply_shape(self, model, level):
        """Set ``model``'s N and T to the labels of ``level``."""
        N, T = self.data.label_shape(level)
        model.set_num_regions(N)
        if T != model.num_chars:
            model.set_num_chars(T)

    # ------------------------------------------------------------------ trainer
    def _setup_trainer(self):
        o = self.options
        plan = self.plan
        iters = self.train_iterators(0)
        if plan.updater == 'multiprocess':
            from chainer_see.training.parallel import SEEMultiprocessUpdater
            self.updater = SEEMultiprocessUpdater(iters, self.optimizer, plan.devices,
                                                  replica_context=self)
        else:
            if plan.device != devices_module.CPU:
                self.chain.to_device(plan.device)
            self.updater = training.updaters.StandardUpdater(iters[0], self.optimizer,
                                                             device=plan.device)
        self.stop = StopTrigger(o.iterations, None if o.time_limit is None
                                else float(o.time_limit) * 60.0)
        self.trainer = trainer = training.Trainer(self.updater, self.stop, out=self.out)
        ev = extensions.Evaluator(self.validation_iterator(0), self.chain, device=plan.device)
        if self.comm is not None:
            import chainermn
            ev = chainermn.create_multi_node_evaluator(ev, self.comm)
        self.evaluator = ev
        interval = (o.test_interval, 'iteration')
        trainer.extend(ev, name='validation', trigger=interval)

        # the guard judges every state a snapshot is taken of (see nan_guard): the newest
        # snapshot is always one a --resume can go on from
        self.nan_guard = NaNGuard(('main/loss',), target=self.model, param_interval=1,
                                  last_snapshot=lambda: self.snapshot.last_good(self.out))
        self.snapshot = Snapshot(keep=o.keep_snapshots, check=self.model,
                                 on_error_save=self._save_model_on_error, writer=self.writer,
                                 health=self.nan_guard.unsound, log=self.log)
        trainer.extend(self.nan_guard)
        if self.comm is not None:
            trainer.extend(_SyncedNaNGuard(self.comm), name='NaNGuardSync')
        if not any(isinstance(h, ThetaGuard)
                   for h in self.model.localization_net.local_link_hooks.values()):
            self.model.localization_net.add_hook(
                ThetaGuard(iteration=lambda: self.updater.iteration,
                           last_snapshot=lambda: self.snapshot.last_good(self.out)))
        self.curriculum = CurriculumSwitch(
            self.set_level, self.data.num_levels, window=o.curriculum_window, threshold=o.curriculum_threshold,
            rule=o.curriculum_rule, min_accuracy=o.curriculum_accuracy,
            rise=o.curriculum_rise,
            trigger_file=os.path.join(self.out, 'next_level'),
            signal_number=getattr(signal, 'SIGUSR1', None), comm=self.comm, log=self.log)
        trainer.extend(self.curriculum)
        self.restart = LocalizationRestart(
            self.reset_recognition, probe=self.probe_boxes, max_restarts=o.max_restarts,
            interval=o.restart_interval, window=o.curriculum_window,
            box_tolerance=o.restart_tolerance, min_improvement=o.restart_improvement,
            comm=self.comm, log=self.log)
        trainer.extend(self.restart)
        trainer.extend(self.snapshot, trigger=(o.snapshot_interval, 'iteration'))
        trainer.extend(extensions.observe_value(
            'lr', lambda t: optimizer_module.actual_optimizer(self.optimizer).alpha),
            trigger=(1, 'iteration'))
        if o.lr_final is not None and o.lr_final != o.lr:
            trainer.extend(BudgetLinearShift(
                'alpha', (o.lr, o.lr_final), o.iterations, time_limit=self.stop.time_limit,
                start=o.lr_decay_start, optimizer=optimizer_module.actual_optimizer(
                    self.optimizer)))
        self.plotter = None
        self.box_iou = None
        if self.writer:
            self._writer_extensions()

    def _writer_extensions(self):
        from chainer_see.training.extensions import console
        from chainer_see.training.extensions import plots
        o = self.options
        trainer = self.trainer
        self.box_iou = BoxIoUReport(self.model, self.data.validation(self.level, full=True))
        if not self.box_iou.available():
            self.box_iou = None
        # the IoU of the untrained model: measured before the first update, it becomes
        # the log's entry and iou.png's point at iteration 0 (nothing else reports then)
        at_start = self.box_iou is not None
        if at_start:
            trainer.extend(self.box_iou, trigger=(o.test_interval, 'iteration'),
                           call_before_training=True)
        trainer.extend(extensions.LogReport(trigger=(o.log_interval, 'iteration'),
                                            postprocess=self._log_state),
                       call_before_training=at_start)
        if not o.quiet:
            columns = console.training_columns(self.loss.uses_regularizers, at_start)
            trainer.extend(console.ConsoleTable(columns, out=_TerminalOnly(sys.stdout)))
            if sys.stdout.isatty():
                trainer.extend(console.TrainingProgressBar(
                    o.iterations, self.stop.time_limit, update_interval=5))
        if plots.CurvePlot.available():
            words = max(self.data.label_shape(k)[0] for k in range(self.data.num_levels))
            for curve in plots.training_curves((o.log_interval, 'iteration'),
                                               self.loss.uses_regularizers, words, at_start,
                                               box_loss=self.data.box_fraction > 0):
                trainer.extend(curve, name='plot_' + curve.file_name.rsplit('.', 1)[0],
                               call_before_training=True)
        if o.plot_images > 0 and o.plot_interval > 0:
            images, labels, boxes = self._plot_images(0)
            self.plotter = BBoxPlotter(self.model, images, labels,
                                       os.path.join(self.out, 'boxes'), true_boxes=boxes,
                                       heatmaps=o.heatmaps, describe=self._describe_level,
                                       gif=not o.no_gif)
            trainer.extend(self.plotter, trigger=(o.plot_interval, 'iteration'),
                           call_before_training=True)

    def _log_state(self, stats):
        # the state at the end of the interval, not its mean over the interval
        stats['level'] = int(self.curriculum.level)
        stats['restarts'] = int(self.restart.restarts)

    def _describe_level(self, trainer=None):
        return 'level %d/%d: %s' % (self.level + 1, self.data.num_levels,
                                    self.data.name(self.level))

    def _plot_images(self, level):
        ds = self.data.validation(level, full=True)
        n = min(self.options.plot_images, len(ds))
        batch = [ds[i] for i in range(n)]
        images = numpy.stack([b[0] for b in batch])
        labels = numpy.stack([b[1] for b in batch])
        boxes = []
        for i in range(n):
            try:
                boxes.append(ds.true_boxes(i))
            except (AttributeError, NotImplementedError):
                boxes.append(None)
        return images, labels, boxes

    # ------------------------------------------------------------------ curriculum
    def set_level(self, level):
        """Switch model, loss input, iterators (all replicas) and plots to ``level``."""
        level = int(level)
        self.apply_shape(self.model, level)
        optimizer_module.ensure_update_rules(self.optimizer, self.chain)
        self.freeze()
        iters = self.train_iterators(level)
        if self.plan.updater == 'multiprocess':
            self.updater.set_iterators(iters)
            self.updater.on_replicas(_replica_set_level, level)
        else:
            old = self.updater.get_iterator('main')
            self.updater._iterators['main'] = iters[0]
            old.finalize()
        self.evaluator._iterators['main'] = self.validation_iterator(level)
        self.restart.reset_window()
        self.__dict__.pop('_probe', None)
        if self.plotter is not None:
            self.plotter.set_images(*self._plot_images(level))
        if self.box_iou is not None:
            self.box_iou.set_dataset(self.data.validation(level, full=True))
        self.level = level
        sizes = self.data.sizes(level)
        N, T = self.data.label_shape(level)
        self.log('level %d/%d (%s): N=%d regions, T=%d characters, %d training and %d '
                 'validation images' % (level + 1, self.data.num_levels, self.data.name(level),
                                        N, T, sizes['train'], sizes['validation']))

    # ------------------------------------------------------------------ restarts
    def reset_recognition(self, index):
        """A freshly initialized recognition network (same on every replica) and fresh
        optimizer state for its parameters only."""
        seed = self.options.seed * 1000 + 17 + index
        with _seeded(seed):
            self.model.reset_recognition()
        optimizer_module.reset_update_rules(self.optimizer, self.model.recognition_net)
        if self.plan.updater == 'multiprocess':
            self.updater.on_replicas(_replica_reset, seed)
        if self.comm is not None:
            self.comm.bcast_data(self.model.recognition_net)

    def probe_boxes(self):
        """Predicted boxes of fixed validation images, in units of the image side."""
        if not hasattr(self, '_probe'):
            ds = self.data.validation(self.level, full=True)
            n = min(32, len(ds))
            self._probe = numpy.stack([ds[i][0] for i in range(n)])
        x = self.model.device.send(self._probe)
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            out = self.model(x)
        boxes = numpy.asarray(chainer.backend.CpuDevice().send(out.boxes), dtype=numpy.float64)
        H, W = self.config.image_size
        return boxes / numpy.array([W - 1, H - 1, W - 1, H - 1], dtype=numpy.float64)

    # ------------------------------------------------------------------ files
    def metadata(self):
        o = self.options
        return {
            'dataset': os.path.abspath(o.dataset) if presets.is_path(o.dataset) else o.dataset,
            'data_dir': os.path.abspath(o.data_dir),
            'iteration': int(self.updater.iteration),
            'level': int(self.level),
            'level_name': self.data.name(self.level),
            'num_levels': int(self.data.num_levels),
            'curriculum': not o.no_curriculum,
            'restarts': int(self.restart.restarts),
            'seed': int(o.seed),
            'model_preset': self.model_preset,
            # the run ended as planned: all its iterations, or its --time-limit
            'finished': (int(self.updater.iteration) >= int(o.iterations)
                         or self.stop.time_up),
            'options': json.loads(json.dumps(vars(o), default=str)),
            'supervision': self.supervision(),
        }

    def supervision(self):
        """What the model learned from, beyond the text labels: ``box_labels`` (``True``
        when ``--box-fraction`` > 0: the box term read the true boxes of that fraction of
        the training images), ``box_fraction`` (F), ``layout_prior`` (``--slot-layout
        grid``), and ``started_from``: per network loaded with ``--load-*``, that file and
        its own ``supervision``, so a chain of runs keeps its whole history.  Read once
        (the loaded files may be gone by the time the last model is written)."""
        if getattr(self, '_supervision', None) is not None:
            return self._supervision
        started = {}
        for part in ('localization', 'recognition'):
            path = getattr(self.options, 'load_' + part)
            if path:
                meta = read_model_info(path).metadata or {}
                started[part] = {'path': os.path.abspath(path),
                                 'dataset': meta.get('dataset'),
                                 'supervision': meta.get('supervision')}
        fraction = float(getattr(self.options, 'box_fraction', 0.0) or 0.0)
        self._supervision = {'box_labels': fraction > 0, 'box_fraction': fraction,
                             'layout_prior': self.config.slot_layout != 'none',
                             'started_from': started}
        return self._supervision

    def save_model(self, path=None):
        path = path or os.path.join(self.out, 'model.npz')
        model = self.model
        if model.device.xp is not numpy:
            model = model.copy(mode='copy')
            model.to_cpu()
        save_model(model, path, metadata=self.metadata())
        return path

    def _save_model_on_error(self, trainer):
        """``model.npz`` after an error (``Snapshot`` calls it before its own snapshot and
        writes that whatever happens here); never from non-finite weights."""
        if not self.writer:
            return None
        bad = first_non_finite_param(self.model)
        if bad is not None:
            raise NonFiniteError('parameter %s holds NaN/inf' % bad)
        return self.save_model()

    def configuration(self):
        o = self.options
        loss = self.loss
        return {
            'command': sys.argv,
            'options': vars(o),
            'model': self.config.to_dict(),
            'model_preset': self.model_preset,
            'loss': {'preset': self.loss_preset, 'mode': loss.mode,
                     'area_weight': loss.area_weight,
                     'area_accuracy_scale': loss.area_accuracy_scale,
                     'aspect_weight': loss.aspect_weight,
                     'direction_weight': loss.direction_weight,
                     'height_hinge': loss.height_hinge, 'height_weight': loss.height_weight,
                     'outside_weight': loss.outside_weight,
                     'word_weights': loss.word_weights,
                     'box_weight': loss.box_weight,
                     'box_fraction': self.data.box_fraction},
            'optimizer': {'name': 'Adam', 'alpha': o.lr, 'alpha_final': o.lr_final,
                          'alpha_decay_start': o.lr_decay_start,
                          'weight_decay': o.weight_decay, 'gradient_clipping': o.clip},
            'levels': self.data.describe(),
            'devices': dict(self.plan._asdict()),
            'versions': {'chainer': chainer.__version__, 'numpy': numpy.__version__,
                         'python': sys.version.split()[0]},
        }

    def write_configuration(self):
        if not self.writer:
            return
        with atomic_file(os.path.join(self.out, 'config.json'), 'w') as f:
            json.dump(self.configuration(), f, indent=2, sort_keys=True, default=str)
            f.write('\n')

    # ------------------------------------------------------------------ resume
    def resume(self, path=None):
        """Load the newest snapshot of ``out`` (or ``path``): its level first, then all."""
        path = path or self._resume_from or latest_snapshot(self.out)
        if path is None:
            return None
        level = read_value(path, 'extensions/CurriculumSwitch/level')
        level = 0 if level is None else int(level)
        try:
            if level != self.level:
                self.set_level(level)
            chainer.serializers.load_npz(path, self.trainer)
        except (KeyError, ValueError) as e:
            raise run_folder.RunFolderError(
                '--resume: %s does not fit the run these options build (%s); resume with '
                'the options of %s, or start a new run with another --out or --overwrite'
                % (path, str(e).splitlines()[0][:160] if str(e) else type(e).__name__,
                   os.path.join(self.out, 'config.json'))) from None
        self.curriculum.level = level
        self.snapshot.last = path
        self.snapshot.last_iteration = int(self.updater.iteration)
        self.log('resumed from %s at iteration %d, level %d/%d'
                 % (path, self.updater.iteration, level + 1, self.data.num_levels))
        return path

    # ------------------------------------------------------------------ run
    def run(self):
        """Resume (``--resume``), train, write ``model.npz`` and the final snapshot.

        Ctrl-C or SIGTERM: the current iteration ends, then the model and the snapshot
        are written as at the normal end (a second Ctrl-C stops at once); ``interrupted``
        then names the signal.  ``model.npz`` is written before the snapshot, at the end
        and after an error alike, and each is attempted whatever happens to the other
        (``saves`` tells which were written); a failed write raises its ``OSError`` after
        both were tried.  The lock of ``--out`` is given back at the end, also on an
        error.  Returns the path of ``model.npz`` (``None`` on ranks that do not write).
        """
        o = self.options
        if self.folder is not None:
            self.folder.lock.acquire()          # again, if given back by an earlier run()
        try:
            if o.resume and self.resume() is None:
                raise run_folder.RunFolderError('--resume: no readable snapshot in %s (start '
                                                'the run anew with --overwrite)' % self.out)
            self.write_configuration()
            self.log('training %s on %s, %s\n  N=%d regions, T=%d characters, batch %d x %d '
                     'replica(s), %d iterations' % (o.dataset, self.plan.mode,
                                                    self._describe_level(),
                                                    self.config.num_regions,
                                                    self.config.num_chars, o.batch_size,
                                                    self.plan.size, o.iterations))
            restore = self._install_stop_handlers()
            try:
                self.trainer.run(show_loop_exception_msg=False)
            except Exception:
                self.saves = list(self.snapshot.error_saves)
                if self.saves:
                    self.log('after the error: %s' % describe_saves(self.saves))
                raise
            finally:
                restore()
                if self.options.save_rank_models and self.comm is not None:
                    self.save_model(os.path.join(self.out, 'rank%d.npz' % self.comm.rank))
            if self.stop.reason:
                self.log('stopped at iteration %d: %s'
                         % (self.updater.iteration, self.stop.reason))
            if not self.writer:
                return None
            path = os.path.join(self.out, 'model.npz')
            snap = os.path.join(self.out, snapshot_name(self.updater.iteration))
            self.saves = save_each([(path, self.save_model),
                                    (snap, lambda: self.snapshot.write_now(self.trainer))])
            failed = [e for _, e in self.saves
                      if e is not None and not isinstance(e, SnapshotWithheld)]
            if failed:
                raise failed[0]
            self.log('model written to %s (iteration %d)' % (path, self.updater.iteration))
            return path
        finally:
            self.release_folder()

    def _install_stop_handlers(self):
        old = {}

        def on_signal(signum, frame):
            name = 'Ctrl-C' if signum == signal.SIGINT else 'SIGTERM'
            if self.interrupted is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.interrupted = name
            self.stop.request('%s: stopping after this iteration (again to stop at once)' % name)
            self.log('%s received: finishing this iteration, then writing model.npz and the '
                     'snapshot' % name)

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, on_signal)
            except ValueError:       # not the main thread
                pass

        def restore():
            for sig, handler in old.items():
                signal.signal(sig, handler)
        return restore


class _SyncedNaNGuard(training.Extension):
    """With MPI: every rank learns whether any rank saw a non-finite loss, so that all
    stop together instead of waiting for each other in the next all-reduce."""

    trigger = (1, 'iteration')
    priority = NaNGuard.priority + 1

    def __init__(self, comm):
        self.comm = comm

    def __call__(self, trainer):
        v = trainer.observation.get('main/loss')
        bad = 0
        if v is not None:
            v = float(chainer.backend.CpuDevice().send(getattr(v, 'array', v)))
            bad = 0 if math.isfinite(v) else 1
        if self.comm.allreduce_obj(bad):
            raise NonFiniteError('training diverged at iteration %d: a non-finite loss on %s; '
                                 'stopped on every rank'
                                 % (trainer.updater.iteration,
                                    'this rank' if bad else 'another rank'))


class _TerminalOnly(object):
    """A stream that drops the terminal's "erase" code (``ESC [ J``, which PrintReport
    writes before every line) when it is not a terminal, so logs stay clean."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        isatty = getattr(self._stream, 'isatty', None)
        if not (isatty and isatty()):
            text = text.replace('\033[J', '')
        self._stream.write(text)

    def flush(self):
        self._stream.flush()

    def isatty(self):
        isatty = getattr(self._stream, 'isatty', None)
        return bool(isatty and isatty())

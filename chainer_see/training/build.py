"""``SEETraining``: the training run ``train.py`` builds from its options, and runs.

``SEETraining(options)`` claims ``--out``, then builds with one function each: devices,
data, model, loss, chain, optimizer (``assembly``), updater, ``Trainer`` and its
extensions (``_setup_trainer`` lists them; the writer's: ``reports``).  ``run()``
resumes if asked, trains, and writes ``model.npz`` and the final snapshot (``records``).
``options``: the namespace of ``cli`` or ``default_options(**changes)``; the options
left ``None`` take the dataset's defaults (``options.TRAINING_DEFAULTS``, gathered from
the ``by_dataset`` values of ``option_table.OPTIONS``).  The names
other code imports from here are re-exported from the modules that define them.
"""
import functools
import os
import signal
import sys
import weakref

import chainer
from chainer import training

from chainer_see.data import presets
from chainer_see.training import assembly
from chainer_see.training import devices as devices_module
from chainer_see.training import optimizer as optimizer_module
from chainer_see.training import records
from chainer_see.training import reports
from chainer_see.training import run_folder
from chainer_see.training.assembly import RESIZED_INPUT
from chainer_see.training.assembly import seeded
from chainer_see.training.levels import Curriculum
from chainer_see.training.levels import LevelIterator
from chainer_see.training.levels import LevelView
from chainer_see.training.extensions.nan_guard import NonFiniteError
from chainer_see.training.extensions.nan_guard import first_non_finite_param
from chainer_see.training.options import (
    COMMON_DEFAULTS, LOSS_OPTIONS, PATH_DEFAULTS, TRAINING_DEFAULTS, choose_presets,
    dataset_defaults, default_options, file_char_map, fill_defaults, guess_model_preset,
    path_loss_preset)
from chainer_see.training.snapshots import (
    SnapshotWithheld, describe_saves, latest_snapshot, read_value, save_each, snapshot_name)
from chainer_see.training.stop import (
    StopTrigger, SyncedNaNGuard, install_stop_handlers, make_stop_trigger)

__all__ = ['SEETraining', 'RESIZED_INPUT', 'TRAINING_DEFAULTS', 'PATH_DEFAULTS',
           'COMMON_DEFAULTS', 'LOSS_OPTIONS', 'default_options', 'dataset_defaults',
           'file_char_map', 'guess_model_preset', 'StopTrigger']


# ---------------------------------------------------------------------- replica functions
# Module-level, so that the multi-GPU updater can send them to its worker processes.
def _replica_set_level(worker, level):
    # worker.context: the worker's copy of the run's Curriculum; its LevelIterator reads
    # the level at the next batch
    curriculum = worker.context
    curriculum.level = int(level)
    assembly.apply_shape(worker.model.model, curriculum.label_shapes[level])


def _replica_reset(worker, seed):
    with seeded(seed):
        worker.model.model.reset_recognition()


class SEETraining(object):
    """One training run (see the module docstring).

    ``levels`` (a list of ``presets.Level``) replaces the data of ``--dataset`` and
    ``config_overrides`` (``SEEConfig`` fields) changes the model, for tests and
    experiments with small networks; ``train.py`` passes neither.

    Attributes: ``options``, ``plan``, ``comm``, ``writer`` (this process writes files),
    ``levels``, ``data`` (``CurriculumData``), ``config``, ``model``, ``loss``,
    ``chain``, ``optimizer``, ``updater``, ``evaluator``, ``trainer``, ``level`` (read
    from ``level_state``, the ``levels.Curriculum``), ``curriculum`` (the
    ``CurriculumSwitch``), ``restart``, ``plotter``, ``snapshot``, ``stop``.
    """

    def __init__(self, options, log=None, levels=None, config_overrides=None):
        self.options = options
        self._log = log
        self._given_levels = levels
        self._config_overrides = dict(config_overrides or {})
        self.comm = None
        self.interrupted = None     # 'Ctrl-C' or 'SIGTERM' once a stop signal arrived
        self.saves = []             # [(path, error)]: the writes after an error or at the end
        o = options
        self._setup_devices()
        self.writer = devices_module.is_writer(self.plan)
        self.out = options.out
        self.folder = self._claim_folder()     # before any work: lock, ownership, --resume
        try:
            self._setup_data()
            self._setup_model()
            self._setup_trainer()
            if o.start_level > 1:     # a resume sets its own level later
                self.level_state.set(o.start_level - 1)
        except BaseException:
            self.release_folder()
            raise

    def _claim_folder(self):
        """Lock ``--out`` (``records.claim_folder``) and say what the claim found."""
        claim, self._resume_from = records.claim_folder(self.out, self.options,
                                                        self.writer, self.comm)
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

    def log(self, text):
        if self._log is not None:
            self._log(text)
        elif self.writer and not self.options.quiet:
            print(text, flush=True)

    # ------------------------------------------------------------------ the parts
    def _setup_devices(self):
        self.plan, self.comm = assembly.make_devices(self.options)

    def _setup_data(self):
        o = self.options
        model_preset, loss_preset, image_size = choose_presets(o)
        self.levels = assembly.make_levels(o, image_size, self._given_levels)
        # files (not given levels) are read again at the size of a guessed preset
        model_preset = assembly.settle_model_preset(self.levels, model_preset,
                                                    resize=self._given_levels is None)
        if presets.is_path(o.dataset):
            loss_preset = path_loss_preset(model_preset)
        self.loss_preset = loss_preset
        self.model_preset = model_preset
        self.defaults = dataset_defaults(o.dataset, model_preset)
        fill_defaults(o, self.defaults)
        self.data = assembly.make_data(self.levels, o, self.plan)
        self.level_state = Curriculum(
            self.data.num_levels, apply=self.apply_level,
            label_shapes=[self.data.label_shape(k) for k in range(self.data.num_levels)])
        start = o.start_level
        if start > self.data.num_levels:
            raise ValueError('--start-level %d: %s has %d curriculum level(s)%s'
                             % (start, o.dataset, self.data.num_levels,
                                ' (--no-curriculum mixes them into one)'
                                if o.no_curriculum else ''))
        if self.data.box_fraction > 0:
            self.log('box labels: the true word boxes of a fixed %g of the training images '
                     '(chosen by image and --seed %d), box term weight %g'
                     % (self.data.box_fraction, o.seed, getattr(o, 'box_weight', 1.0)))

    def _setup_model(self):
        o = self.options
        self.config = assembly.model_config(self.model_preset, self.data, self.levels, o,
                                            self._config_overrides)
        self.model = assembly.make_model(self.config, o.seed)
        for part in ('localization', 'recognition'):
            path = getattr(o, 'load_' + part)
            if path:
                self.load_part(path, part)
        self.supervision()
        self.loss = assembly.make_loss(self.loss_preset, self.config, o, self.defaults)
        self.data.check_fits(self.config, self.loss.word_weights)
        self.chain = assembly.make_chain(self.model, self.loss, self.plan)
        self.optimizer = assembly.make_optimizer(self.chain, o, self.comm)
        assembly.check_freeze(o)
        self.freeze()

    def load_part(self, path, part):
        """Copy the ``part`` network (``'localization'`` or ``'recognition'``) from the
        model file ``path`` (see ``assembly.load_part``)."""
        assembly.load_part(self.model, path, part, self.log)

    def freeze(self):
        """Keep the network named by ``--freeze`` as it is (``assembly.freeze``)."""
        assembly.freeze(self.model, self.options.freeze)

    @property
    def level(self):
        """The current curriculum level (0-based)."""
        return self.level_state.level

    def _level_view(self, make):
        return LevelView(self.level_state, make)

    def apply_shape(self, model, level):
        """Set ``model``'s N and T to the labels of ``level``."""
        assembly.apply_shape(model, self.data.label_shape(level))

    # ------------------------------------------------------------------ trainer
    def _setup_trainer(self):
        """Updater, ``Trainer`` and its extensions, in the order they are added."""
        o = self.options
        self.updater = assembly.make_updater(
            self.plan, assembly.level_iterators(self.level_state, self.data, self.levels,
                                                o, self.plan),
            self.optimizer, self.chain, self.level_state)
        self.stop = make_stop_trigger(o.iterations, o.time_limit)
        self.trainer = trainer = training.Trainer(self.updater, self.stop, out=self.out)
        self.evaluator = assembly.make_evaluator(LevelIterator(
            self.level_state, functools.partial(assembly.validation_iterator, self.data,
                                                batch_size=o.batch_size)), self.chain,
                                                 self.plan.device, self.comm)
        trainer.extend(self.evaluator, name='validation', trigger=(o.test_interval, 'iteration'))
        # the guard judges every state a snapshot is taken of (see nan_guard): the newest
        # snapshot is always one a --resume can go on from
        self.nan_guard = assembly.make_nan_guard(self.model, self._last_good_snapshot)
        self.snapshot = assembly.make_snapshot(o, self.model, self._save_model_on_error,
                                               self.writer, self.nan_guard.unsound, self.log)
        trainer.extend(self.nan_guard)
        if self.comm is not None:
            trainer.extend(SyncedNaNGuard(self.comm), name='NaNGuardSync')
        assembly.add_theta_guard(self.model, self._iteration, self._last_good_snapshot)
        self.curriculum = assembly.make_curriculum(o, self.level_state, self.out, self.comm,
                                                   self.log)
        trainer.extend(self.curriculum)
        self._probe = self._level_view(lambda level: assembly.probe_images(
            self.data.validation(level, full=True)))
        self.restart = assembly.make_restart(o, self.reset_recognition, self.probe_boxes,
                                             self.level_state, self.comm, self.log)
        trainer.extend(self.restart)
        trainer.extend(self.snapshot, trigger=(o.snapshot_interval, 'iteration'))
        assembly.add_lr_extensions(trainer, o, self.optimizer, self.stop.time_limit)
        self.plotter = None
        self.box_iou = None
        if self.writer:
            self._writer_extensions()

    def _writer_extensions(self):
        o = self.options
        trainer = self.trainer
        self.box_iou = reports.make_box_iou(self.model, self._level_view(
            lambda level: self.data.validation(level, full=True)))
        # the IoU of the untrained model: measured before the first update, it becomes
        # the log's entry and iou.png's point at iteration 0 (nothing else reports then)
        at_start = self.box_iou is not None
        if at_start:
            trainer.extend(self.box_iou, trigger=(o.test_interval, 'iteration'),
                           call_before_training=True)
        reports.add_log_report(trainer, o.log_interval, self._log_state, at_start)
        if not o.quiet:
            reports.add_console(trainer, self.loss.uses_regularizers, at_start,
                                o.iterations, self.stop.time_limit)
        reports.add_curve_plots(trainer, o.log_interval, self.loss.uses_regularizers,
                                self.data, at_start)
        if o.plot_images > 0 and o.plot_interval > 0:
            self.plotter = reports.make_plotter(self.model, self._level_view(self._plot_images),
                                                self.out, o, self._describe_level)
            trainer.extend(self.plotter, trigger=(o.plot_interval, 'iteration'),
                           call_before_training=True)

    def _iteration(self):
        return self.updater.iteration

    def _last_good_snapshot(self):
        return self.snapshot.last_good(self.out)

    def _log_state(self, stats):
        # the state at the end of the interval, not its mean over the interval
        stats['level'] = int(self.curriculum.level)
        stats['restarts'] = int(self.restart.restarts)

    def _describe_level(self, trainer=None):
        return 'level %d/%d: %s' % (self.level + 1, self.data.num_levels,
                                    self.data.name(self.level))

    def _plot_images(self, level):
        return reports.plot_images(self.data.validation(level, full=True),
                                   self.options.plot_images)

    # ------------------------------------------------------------------ curriculum
    def apply_level(self, level):
        """What must change before the next update at ``level`` (``Curriculum.set``
        runs it): the model's N and T (also in every worker of several GPUs), update
        rules for new parameters, ``--freeze``.  The iterators, pictures, IoU probe and
        restart window read the level themselves (``levels``)."""
        level = int(level)
        self.apply_shape(self.model, level)
        optimizer_module.ensure_update_rules(self.optimizer, self.chain)
        self.freeze()
        if self.plan.updater == 'multiprocess':
            self.updater.on_replicas(_replica_set_level, level)
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
        with seeded(seed):
            self.model.reset_recognition()
        optimizer_module.reset_update_rules(self.optimizer, self.model.recognition_net)
        if self.plan.updater == 'multiprocess':
            self.updater.on_replicas(_replica_reset, seed)
        if self.comm is not None:
            self.comm.bcast_data(self.model.recognition_net)

    def probe_boxes(self):
        """Predicted boxes of fixed validation images of the current level, in units of
        the image side."""
        return assembly.predicted_boxes(self.model, self._probe.get(), self.config.image_size)

    # ------------------------------------------------------------------ files
    def metadata(self):
        """``model.npz``'s metadata (``records.metadata``)."""
        o = self.options
        # the run ended as planned: all its iterations, or its --time-limit
        finished = (int(self.updater.iteration) >= int(o.iterations) or self.stop.time_up)
        return records.metadata(o, self.data, self.level, self.updater.iteration,
                                self.restart.restarts, self.model_preset, finished,
                                self.supervision())

    def supervision(self):
        """``records.supervision`` of this run, read once (the loaded files may be gone
        by the time the last model is written)."""
        if getattr(self, '_supervision', None) is None:
            self._supervision = records.supervision(self.options, self.config)
        return self._supervision

    def save_model(self, path=None):
        path = path or os.path.join(self.out, 'model.npz')
        return records.save_model_file(self.model, path, self.metadata())

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
        """The content of ``config.json`` (``records.configuration``)."""
        return records.configuration(self.options, self.config, self.model_preset,
                                     self.loss, self.loss_preset, self.data, self.plan)

    def write_configuration(self):
        if self.writer:
            records.write_json(os.path.join(self.out, 'config.json'), self.configuration())

    # ------------------------------------------------------------------ resume and run
    def resume(self, path=None):
        """Load the newest snapshot of ``out`` (or ``path``): its level first, then all."""
        path = path or self._resume_from or latest_snapshot(self.out)
        if path is None:
            return None
        level = read_value(path, 'extensions/CurriculumSwitch/level')
        level = 0 if level is None else int(level)
        try:
            if level != self.level:
                self.level_state.set(level)
            chainer.serializers.load_npz(path, self.trainer)
        except (KeyError, ValueError) as e:
            raise records.resume_mismatch(path, e, self.out) from None
        self.snapshot.last = path
        self.snapshot.last_iteration = int(self.updater.iteration)
        self.log('resumed from %s at iteration %d, level %d/%d'
                 % (path, self.updater.iteration, level + 1, self.data.num_levels))
        return path

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
            self._train()
            if self.stop.reason:
                self.log('stopped at iteration %d: %s'
                         % (self.updater.iteration, self.stop.reason))
            if not self.writer:
                return None
            return self._write_final()
        finally:
            self.release_folder()

    def _train(self):
        """``trainer.run()`` under the stop handlers; after an error, the log names the
        files the snapshot extension wrote (``saves``)."""
        restore = install_stop_handlers(self._on_stop_signal)
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

    def _write_final(self):
        """``model.npz``, then the final snapshot, each tried whatever happens to the
        other; the first failed write is raised.  Returns the path of ``model.npz``."""
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

    def _on_stop_signal(self, signum, frame):
        """Ctrl-C / SIGTERM: stop after this iteration; a second Ctrl-C stops at once."""
        name = 'Ctrl-C' if signum == signal.SIGINT else 'SIGTERM'
        if self.interrupted is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.interrupted = name
        self.stop.request('%s: stopping after this iteration (again to stop at once)' % name)
        self.log('%s received: finishing this iteration, then writing model.npz and the '
                 'snapshot' % name)

"""Small training runs for the tests: 48x48 images, 36x36 crops, 32-unit LSTMs."""
from chainer_see.data.presets import Level
from chainer_see.data.synthetic import SyntheticDataset
from chainer_see.training.build import SEETraining, default_options

SMALL = dict(image_size=(48, 48), crop_size=(36, 36), loc_units=32, rec_units=32)


def random_levels(counts=(1, 2), train_size=10000, validation_size=4):
    """Curriculum levels of svhn-random at 48x48 with exactly k numbers per image."""
    levels = []
    for k in counts:
        opts = dict(image_size=(48, 48), min_numbers=k, max_numbers=k, max_digits=2)
        levels.append(Level('random-%d' % k,
                            SyntheticDataset('svhn-random', train_size, seed=0, **opts),
                            SyntheticDataset('svhn-random', validation_size, seed=5, **opts)))
    return levels


def crops_levels(validation_size=4):
    opts = dict(image_size=(48, 48))
    return [Level('crops', SyntheticDataset('svhn-crops', 10000, seed=0, **opts),
                  SyntheticDataset('svhn-crops', validation_size, seed=5, **opts))]


def small_run(tmp_path, levels=None, model='svhn-grid', log=None, **changes):
    """A ``SEETraining`` on small data and a small model, writing into ``tmp_path``."""
    opts = dict(out=str(tmp_path), iterations=4, batch_size=2, test_interval=2,
                plot_images=2, quiet=True, model=model)
    opts.update(changes)
    lines = [] if log is None else log
    run = SEETraining(default_options(**opts), log=lines.append,
                      levels=levels if levels is not None else random_levels(),
                      config_overrides=SMALL)
    run.lines = lines
    return run


def at_iteration(iteration, action):
    """A Trainer extension that calls ``action()`` once, after update ``iteration``."""
    import chainer

    class AtIteration(chainer.training.Extension):
        trigger = (1, 'iteration')

        def __call__(self, trainer):
            if trainer.updater.iteration == iteration:
                action()
    return AtIteration()


def crashing_run(tmp_path, iteration=3):
    """A small svhn run that raises ``RuntimeError('disk on fire')`` after update
    ``iteration`` of its 6 (no snapshot before that: the interval is 100)."""
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=6,
                    snapshot_interval=100, plot_images=0)

    def crash():
        raise RuntimeError('disk on fire')
    run.trainer.extend(at_iteration(iteration, crash))
    return run

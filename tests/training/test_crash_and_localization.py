"""Nothing lost on a crash; starting from another run's localization or recognition weights."""
import os

import numpy
import pytest

from chainer_see import load_model, read_model_info
from chainer_see.training.snapshots import latest_snapshot
from tests.training.helpers import crashing_run, crops_levels, small_run


def test_an_error_during_training_leaves_a_snapshot_and_a_model(tmp_path):
    run = crashing_run(tmp_path)
    with pytest.raises(RuntimeError, match='disk on fire'):
        run.run()
    assert latest_snapshot(str(tmp_path)).endswith('snapshot_iter_00000003.npz')
    _, meta, _ = read_model_info(os.path.join(str(tmp_path), 'model.npz'))
    assert meta['iteration'] == 3 and meta['finished'] is False


@pytest.mark.parametrize('part,other', [('localization', 'recognition'),
                                         ('recognition', 'localization')])
def test_load_part_copies_only_that_network(tmp_path, part, other):
    first = small_run(tmp_path / 'a', levels=crops_levels(), model='svhn', iterations=2,
                      plot_images=0)
    path = first.run()
    source = load_model(path)
    second = small_run(tmp_path / 'b', levels=crops_levels(), model='svhn', seed=5,
                       plot_images=0, **{'load_' + part: path})
    copied, fresh = part + '_net', other + '_net'
    src = dict(getattr(source, copied).namedparams())
    for name, p in getattr(second.model, copied).namedparams():
        numpy.testing.assert_array_equal(p.array, src[name].array)
    numpy.testing.assert_array_equal(getattr(second.model, copied).bn0.avg_mean,
                                     getattr(source, copied).bn0.avg_mean)
    rest = dict(getattr(source, fresh).namedparams())
    assert any(not numpy.array_equal(p.array, rest[n].array)
               for n, p in getattr(second.model, fresh).namedparams())
    assert any('%s weights loaded' % part in line for line in second.lines)


@pytest.mark.parametrize('part', ['localization', 'recognition'])
def test_load_part_refuses_a_network_of_another_size(tmp_path, part):
    from chainer_see import SEE, SEEConfig, save_model
    other = str(tmp_path / 'other.npz')
    save_model(SEE(SEEConfig.preset('svhn')), other)        # 64x64 input, 256 units
    with pytest.raises(ValueError, match='its %s network does not fit' % part):
        small_run(tmp_path / 'c', levels=crops_levels(), model='svhn',
                  **{'load_' + part: other})


def test_freeze_keeps_one_network_and_trains_the_other(tmp_path):
    first = small_run(tmp_path / 'a', levels=crops_levels(), model='svhn', iterations=2,
                      plot_images=0)
    path = first.run()
    run = small_run(tmp_path / 'b', levels=crops_levels(), model='svhn', iterations=3,
                    plot_images=0, load_recognition=path, freeze='recognition')
    before = {n: p.array.copy() for n, p in run.model.namedparams()}
    run.run()
    after = dict(run.model.namedparams())
    rec = [n for n in before if n.startswith('/recognition_net/')]
    loc = [n for n in before if n.startswith('/localization_net/')]
    assert rec and loc
    for n in rec:
        numpy.testing.assert_array_equal(after[n].array, before[n], err_msg=n)
    assert any(not numpy.array_equal(after[n].array, before[n]) for n in loc)
    # the localization got its gradient through the frozen reader
    assert any(after[n].grad is not None and numpy.abs(after[n].grad).sum() > 0 for n in loc)


def test_freeze_recognition_refuses_restarts(tmp_path):
    with pytest.raises(ValueError, match='a restart replaces the recognition network'):
        small_run(tmp_path, levels=crops_levels(), model='svhn', freeze='recognition',
                  max_restarts=2)


@pytest.mark.parametrize('shrunk', [False, True])
def test_a_localization_of_another_image_size_loads_all_but_the_lstm_input(tmp_path, shrunk):
    """The crops as the first step of a bigger grid: the conv layers, the LSTM's recurrent
    weights and the transform head carry over; only lstm/upward/W starts fresh, unless
    the localization reads the grid shrunk to the crops' size (--loc-input-size): then
    all of it loads."""
    from chainer_see import SEE, SEEConfig, save_model
    from chainer_see.data.presets import Level
    from chainer_see.data.synthetic import SyntheticDataset
    from chainer_see.training.build import RESIZED_INPUT, SEETraining, default_options
    from tests.training.helpers import SMALL
    crops = str(tmp_path / 'crops.npz')
    source = SEE(SEEConfig.preset('svhn', **SMALL))               # 48x48 crops
    rng = numpy.random.RandomState(3)
    for _, p in source.localization_net.namedparams():
        p.array[...] = rng.uniform(-1, 1, p.shape)
    save_model(source, crops)
    opts = dict(image_size=(96, 96), min_numbers=1, max_numbers=1, max_digits=2)
    level = Level('grid-1', SyntheticDataset('svhn-grid128', 100, seed=0, **opts),
                  SyntheticDataset('svhn-grid128', 4, seed=5, **opts))
    lines = []
    small = dict(SMALL, image_size=(96, 96))
    run = SEETraining(default_options(out=str(tmp_path / 'grid'), iterations=1, batch_size=2,
                                      plot_images=0, quiet=True, model='svhn-grid',
                                      load_localization=crops,
                                      loc_input_size=(48, 48) if shrunk else None),
                      log=lines.append, levels=[level], config_overrides=small)
    own = dict(run.model.localization_net.namedparams())
    theirs = dict(source.localization_net.namedparams())
    key = '/' + RESIZED_INPUT
    if shrunk:
        assert run.config.loc_input_size == (48, 48)
        for name, p in theirs.items():
            numpy.testing.assert_array_equal(own[name].array, p.array, err_msg=name)
        assert ['localization weights loaded from %s' % crops] == [
            line for line in lines if 'localization weights' in line]
        return
    assert own[key].shape != theirs[key].shape
    assert not numpy.array_equal(own['/lstm/lateral/W'].array,
                                 SEE(SEEConfig.preset('svhn-grid', **small))
                                 .localization_net.lstm.lateral.W.array)
    for name, p in theirs.items():
        if name != key:
            numpy.testing.assert_array_equal(own[name].array, p.array, err_msg=name)
    assert any('except lstm/upward/W' in line and '48x48' in line and '96x96' in line
               for line in lines), lines

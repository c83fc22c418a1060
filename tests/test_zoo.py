"""The model zoo: names in place of paths, float16 storage that predicts the same."""
import json
import os

import numpy
import pytest

import chainer

from chainer_see import SEE, SEEConfig, load_model, read_model_info, save_model
from chainer_see import zoo
from chainer_see.data.synthetic import SyntheticDataset


def _trained_like(seed=0):
    """A small svhn model with non-trivial weights and BN statistics."""
    model = SEE(SEEConfig.preset('svhn', loc_units=32, rec_units=32))
    rng = numpy.random.RandomState(seed)
    for _, p in model.namedparams():
        p.array[...] += rng.normal(0, 0.05, p.shape).astype(p.dtype)
    return model


def test_a_zoo_file_is_float16_half_the_size_and_predicts_the_same(tmp_path):
    source = str(tmp_path / 'run' / 'model.npz')
    os.makedirs(os.path.dirname(source))
    model = _trained_like()
    save_model(model, source, metadata={'dataset': 'synthetic-svhn', 'iteration': 7,
                                        'supervision': {'box_labels': False}})
    folder = str(tmp_path / 'models')
    path = zoo.add(source, 'tiny', folder=folder)
    assert path == os.path.join(folder, 'tiny.npz')
    assert os.path.getsize(path) < 0.6 * os.path.getsize(source)
    with numpy.load(path) as npz:
        assert npz['localization_net/conv0/W'].dtype == numpy.float16
        assert npz['__see__/format'].dtype.kind == 'i'
    meta = read_model_info(path).metadata
    assert meta['dataset'] == 'synthetic-svhn' and meta['iteration'] == 7
    assert meta['supervision'] == {'box_labels': False}
    assert meta['zoo']['stored_dtype'] == 'float16'
    loaded = load_model(path)
    assert loaded.localization_net.conv0.W.dtype == numpy.float32
    x = numpy.stack([SyntheticDataset('svhn-crops', 8, seed=1)[i][0] for i in range(8)])
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        a, b = model(x), loaded(x)
    numpy.testing.assert_array_equal(a.logits.array.argmax(-1), b.logits.array.argmax(-1))
    numpy.testing.assert_allclose(b.logits.array, a.logits.array, atol=0.05, rtol=0.02)
    numpy.testing.assert_allclose(a.boxes, b.boxes, atol=0.5)      # pixels of 64x64


def test_a_value_float16_cannot_hold_is_refused(tmp_path):
    model = _trained_like()
    model.localization_net.bn0.avg_var[0] = 1e6
    with pytest.raises(ValueError, match='bn0/avg_var holds values beyond float16'):
        save_model(model, str(tmp_path / 'm.npz'), dtype=numpy.float16)
    assert not os.path.exists(str(tmp_path / 'm.npz'))


def test_names_resolve_to_zoo_files_and_files_win(tmp_path, monkeypatch):
    folder = str(tmp_path / 'models')
    os.makedirs(folder)
    open(os.path.join(folder, 'synthetic-grid.npz'), 'wb').close()
    assert zoo.names(folder) == ['synthetic-grid']
    assert zoo.resolve('synthetic-grid', folder) == os.path.join(folder, 'synthetic-grid.npz')
    assert zoo.resolve('nonesuch', folder) == 'nonesuch'
    assert zoo.resolve('runs/a/model.npz', folder) == 'runs/a/model.npz'
    monkeypatch.chdir(tmp_path)
    open('synthetic-grid', 'wb').close()          # a file of that name in the way wins
    assert zoo.resolve('synthetic-grid', folder) == 'synthetic-grid'
    assert 'synthetic-grid' in zoo.missing_hint(folder)
    assert 'empty' in zoo.missing_hint(str(tmp_path / 'none'))


def test_the_committed_zoo_records_how_each_model_was_trained():
    """Every file in models/ says its dataset, its options, that it used no box and no
    layout prior, and has a row in models/README.md."""
    found = zoo.names()
    readme = open(os.path.join(zoo.ZOO_DIR, 'README.md')).read() if found else ''
    for name in found:
        path = os.path.join(zoo.ZOO_DIR, name + '.npz')
        assert os.path.getsize(path) < 10e6, name
        meta = read_model_info(path).metadata
        assert meta['supervision']['box_labels'] is False, name
        assert meta['supervision']['layout_prior'] is False, name
        assert meta['options']['dataset'] == meta['dataset'], name
        assert meta['finished'] is True, name
        for start in meta['supervision']['started_from'].values():
            assert start['supervision']['box_labels'] is False
            assert start['supervision']['layout_prior'] is False
        assert '`%s`' % name in readme, name
        json.dumps(meta)


def test_the_cli_adds_and_lists(tmp_path, monkeypatch, capsys):
    source = str(tmp_path / 'model.npz')
    save_model(_trained_like(), source, metadata={'dataset': 'synthetic-svhn'})
    monkeypatch.setattr(zoo, 'ZOO_DIR', str(tmp_path / 'models'))
    assert zoo.main(['add', source, 'tiny']) == 0
    out = capsys.readouterr().out
    assert 'tiny.npz' in out and 'synthetic-svhn' in out and 'box labels: no' in out
    assert zoo.main(['add', str(tmp_path / 'missing.npz'), 'x']) == 2
    assert 'no such model file' in capsys.readouterr().err


def test_evaluate_and_predict_take_a_zoo_name(tmp_path, monkeypatch, capsys):
    """``evaluate.py NAME`` and ``predict.py NAME photo.png`` as a user types them."""
    from PIL import Image
    from chainer_see.evaluation import evaluate, predict
    folder = str(tmp_path / 'models')
    source = str(tmp_path / 'model.npz')
    save_model(_trained_like(), source, metadata={'dataset': 'synthetic-svhn'})
    zoo.add(source, 'tiny', folder=folder)
    monkeypatch.setattr(zoo, 'ZOO_DIR', folder)
    monkeypatch.chdir(tmp_path)
    assert evaluate.main(['tiny', '--count', '4', '--no-progress']) == 0
    out = capsys.readouterr().out
    assert os.path.join(folder, 'tiny.npz') in out and 'synthetic-svhn' in out
    Image.fromarray(SyntheticDataset('svhn-crops', 1, seed=2).render(0).image).save('photo.png')
    assert predict.main(['tiny', 'photo.png', '--out', 'annotated']) == 0
    assert os.path.exists(os.path.join('annotated', 'photo.see.png'))
    capsys.readouterr()
    assert predict.main(['tinny', 'photo.png']) == 2
    err = capsys.readouterr().err.strip()
    assert err == 'error: tinny: neither a file nor a zoo model (tiny)', err

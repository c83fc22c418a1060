"""A user's own ground-truth files through ``train.py``: the validation split of one file,
the char map that follows ``--model`` / ``--char-map``, the one input size of the model
(``--model``'s preset or the guessed one) and the start-up check of every curriculum level
against the one model (sizes, char map, word slots)."""
import json
import os

import numpy
import pytest
from PIL import Image

from chainer_see import read_model_info
from chainer_see.config import SEEConfig
from chainer_see.data.char_map import CharMap
from chainer_see.data import presets
from chainer_see.data.datasets import GroundTruthDataset, split_held_out
from chainer_see.data.errors import DataError
from chainer_see.data.synthetic import SyntheticDataset, write_dataset
from chainer_see.training import cli
from chainer_see.training.build import file_char_map, guess_model_preset, default_options
from chainer_see.training.data import CurriculumData

pytestmark = pytest.mark.slow

TINY = ['--iterations', '2', '--batch-size', '2', '--test-interval', '1', '--plot-images', '1',
        '--no-gif', '--quiet']


def _status(argv):
    """``train.py``'s exit status, whether ``main`` returns it or exits with it."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return e.code


def _files(tmp_path, kind, count, name, seed=1, **opts):
    out = str(tmp_path / name)
    write_dataset(SyntheticDataset(kind, count, seed=seed, **opts), out, show_progress=False)
    return os.path.join(out, 'gt.tsv')


def test_the_validation_split_of_one_file_keeps_labels_char_map_and_boxes(tmp_path):
    gt = _files(tmp_path, 'svhn-crops', 20, 'crops')
    full = GroundTruthDataset(gt)
    train, val = split_held_out(full, 0.25, 100)
    assert (len(train), len(val)) == (15, 5)
    for part in (train, val):
        assert (part.num_words, part.max_chars, part.image_size) == (1, 5, (64, 64))
        assert part.char_map.name == 'svhn'
    numpy.testing.assert_array_equal(val.true_boxes(0), full.true_boxes(15))
    numpy.testing.assert_array_equal(val[-1][1], full[19][1])
    assert val.image_path(1) == full.image_path(16)
    with pytest.raises(IndexError):
        val[5]


@pytest.mark.parametrize('model', [None, 'svhn', 'svhn-grid'])
def test_one_ground_truth_file_trains_for_every_model_preset(tmp_path, model):
    gt = _files(tmp_path, 'svhn-random', 12, 'random', image_size=(96, 96), max_numbers=2)
    out = str(tmp_path / 'run')
    argv = ['--dataset', gt, '--out', out] + TINY + (['--model', model] if model else [])
    assert _status(argv) == 0
    config, meta, _ = read_model_info(os.path.join(out, 'model.npz'))
    want = SEEConfig.preset(model or 'svhn-grid').image_size
    assert tuple(config.image_size) == tuple(want)
    assert config.num_regions == 2 and config.get_char_map() == CharMap.load('svhn')
    assert meta['model_preset'] == (model or 'svhn-grid') and meta['iteration'] == 2


def test_fsns_character_labels_name_the_option_then_train_with_it(tmp_path, capsys):
    gt = _files(tmp_path, 'fsns-like', 3, 'signs', min_words=1, max_words=2)
    out = str(tmp_path / 'run')
    argv = ['--dataset', gt, '--out', out, '--batch-size', '1', '--iterations', '1',
            '--test-interval', '1', '--plot-images', '1', '--no-gif', '--quiet']
    assert _status(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'gt.tsv:2: ' in err[0] and '--char-map svhn|fsns' in err[0]
    assert _status(argv + ['--char-map', 'fsns']) == 0
    config, meta, _ = read_model_info(os.path.join(out, 'model.npz'))
    assert config.get_char_map() == CharMap.load('fsns')
    assert (config.views, meta['model_preset']) == (4, 'fsns')


def test_char_map_follows_char_map_option_then_model_then_preset(tmp_path):
    cm = tmp_path / 'abc.json'
    cm.write_text(json.dumps({'0': 9250, '1': ord('a'), '2': ord('b'), '3': ord('c')}))
    assert file_char_map(default_options(model='fsns')) == 'fsns'
    assert file_char_map(default_options(model='fsns', char_map=str(cm))) == str(cm)
    assert file_char_map(default_options()) is None
    img = tmp_path / 'a.png'
    Image.new('RGB', (40, 20), 'white').save(str(img))
    gt = tmp_path / 'own.tsv'
    gt.write_text('#see-words\t1\t3\na.png\tcab\na.png\tba\n')
    levels = presets.curriculum_levels(str(gt), char_map=str(cm))
    assert levels[0].train.char_map.decode(levels[0].train[0][1][0]) == 'cab'
    assert guess_model_preset([levels[0].train]) == 'svhn'


def _level(tmp_path, name, size, words):
    folder = tmp_path / name
    folder.mkdir()
    rows = ['#see-words\t%d\t3' % words]
    for i in range(4):
        Image.new('RGB', size, 'white').save(str(folder / ('%d.png' % i)))
        rows.append('\t'.join(['%d.png' % i] + ['12'] * words))
    (folder / 'gt.tsv').write_text('\n'.join(rows) + '\n')
    return {'train': '%s/gt.tsv' % name, 'validation': '%s/gt.tsv' % name}


@pytest.mark.parametrize('model', [None, 'svhn'])
def test_levels_of_different_sizes_switch_at_the_one_input_size(tmp_path, model):
    # every level is read at the input size of the one model (--model's preset, or the
    # guessed one: svhn-grid, since a level has two words), so the switch goes through
    cur = tmp_path / 'curriculum.json'
    cur.write_text(json.dumps([_level(tmp_path, 'small', (56, 33), 1),
                               _level(tmp_path, 'big', (128, 128), 2)]))
    out = str(tmp_path / 'run')
    argv = ['--dataset', str(cur), '--out', out, '--iterations', '4', '--batch-size', '2',
            '--test-interval', '1', '--curriculum-window', '1', '--curriculum-threshold', '1e9',
            '--plot-images', '1', '--no-gif', '--quiet'] + (['--model', model] if model else [])
    assert _status(argv) == 0
    log = json.load(open(os.path.join(out, 'log')))
    assert log[-1]['level'] == 1
    config, meta, _ = read_model_info(os.path.join(out, 'model.npz'))
    assert config.num_regions == 2 and meta['model_preset'] == (model or 'svhn-grid')
    assert tuple(config.image_size) == ((64, 64) if model else (200, 200))


def test_given_levels_of_another_size_stop_before_the_first_iteration(tmp_path):
    levels = presets.curriculum_levels('synthetic-random', validation_size=2)
    levels[1] = levels[1]._replace(validation=SyntheticDataset(
        'svhn-random', 2, image_size=(100, 100), min_numbers=2, max_numbers=2))
    with pytest.raises(ValueError, match=r'level 2 \(synthetic-random-2\) validation, '
                                         r'SyntheticDataset: images are 100x100 \(W x H\) but '
                                         r'the model reads 200x200'):
        CurriculumData(levels).check_fits(SEEConfig.preset('svhn-grid'))


def test_check_fits_names_the_level_for_char_map_views_and_word_slots(tmp_path):
    crops = _files(tmp_path, 'svhn-crops', 4, 'crops')
    levels = presets.curriculum_levels(crops)
    data = CurriculumData(levels)
    data.check_fits(SEEConfig.preset('svhn'))
    with pytest.raises(ValueError, match=r'level 1 \(gt.tsv\) train.*char map svhn \(11 '
                                         r'classes\), the model fsns \(134'):
        data.check_fits(SEEConfig.preset('svhn', char_map='fsns', num_classes=134))
    with pytest.raises(ValueError, match='reaches 1 words per image, but the loss weighs at '
                                         'most 0'):
        data.check_fits(SEEConfig.preset('svhn'), word_weights=())
    signs = _files(tmp_path, 'fsns-like', 2, 'signs')
    levels = presets.curriculum_levels(signs, char_map='fsns')
    with pytest.raises(ValueError, match='4 views per image, the model reads 1'):
        CurriculumData(levels).check_fits(SEEConfig.preset(
            'svhn-grid', image_size=(150, 600), char_map='fsns', num_classes=134))


def test_wrong_char_map_error_is_one_data_error_with_the_option(tmp_path):
    gt = _files(tmp_path, 'fsns-like', 2, 'signs')
    with pytest.raises(DataError) as e:
        presets.curriculum_levels(gt)
    assert str(e.value).startswith(gt + ':2: ') and '--char-map' in str(e.value)

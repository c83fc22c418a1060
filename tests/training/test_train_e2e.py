"""End to end through ``train.py``'s ``main``: the default preset for a few iterations on
the CPU, ``--help``, bad options, a missing data folder."""
import json
import os
import re

import numpy
import pytest
from PIL import Image

from chainer_see import load_model, read_model_info
from chainer_see.training import cli
from chainer_see.training.snapshots import latest_snapshot

pytestmark = pytest.mark.slow


def _has_gpu():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def test_default_preset_writes_log_plots_boxes_snapshot_and_model(tmp_path, capsys):
    out = str(tmp_path / 'run')
    status = cli.main(['--out', out, '--iterations', '4', '--batch-size', '4',
                       '--validation-size', '8', '--test-interval', '2', '--log-interval', '2'])
    assert status == 0
    printed = capsys.readouterr().out
    assert '\033[J' not in printed
    lines = printed.splitlines()
    first = [i for i, line in enumerate(lines) if line.startswith('iteration ')][0]
    table = lines[first:first + 4]
    assert table[0].split() == ['iteration', 'elapsed', 'loss', 'val', 'loss', 'seq', 'acc',
                                'val', 'seq', 'acc', 'val', 'IoU', 'level', 'lr']
    assert [row.split()[0] for row in table[1:]] == ['0', '2', '4']
    assert all(re.match(r'^\d\d:\d\d$', row.split()[1]) for row in table[1:])   # mm:ss
    assert all(len(line) <= 100 for line in table)
    names = set(os.listdir(out))
    assert {'config.json', 'log', 'loss.png', 'accuracy.png', 'iou.png',
            'model.npz', 'boxes'} <= names
    assert 'lr.png' not in names                      # a constant rate is no curve
    log = json.load(open(os.path.join(out, 'log')))
    assert [e['iteration'] for e in log] == [0, 2, 4]     # the untrained model's IoU first
    assert 0 < log[0]['validation/main/iou'] <= 1 and 'main/loss' not in log[0]
    for key in ('main/loss', 'main/slot_accuracy', 'main/sequence_accuracy',
                'validation/main/loss', 'validation/main/slot_accuracy',
                'validation/main/sequence_accuracy', 'lr', 'level',
                'validation/main/iou', 'validation/main/iou50'):
        assert key in log[-1] and numpy.isfinite(log[-1][key])
    assert 'main/accuracy' not in log[-1] and 'validation/main/accuracy' not in log[-1]
    assert 0 < log[-1]['validation/main/iou'] <= 1
    for png in ('loss.png', 'accuracy.png', 'iou.png'):
        assert Image.open(os.path.join(out, png)).size[0] > 100
    boxes = sorted(os.listdir(os.path.join(out, 'boxes')))
    assert boxes == ['iter_000000.png', 'iter_000002.png', 'iter_000004.png', 'training.gif']
    img = Image.open(os.path.join(out, 'boxes', 'iter_000004.png'))
    assert img.size[0] > 192 and img.size[1] > 4 * 192
    gif = Image.open(os.path.join(out, 'boxes', 'training.gif'))
    assert gif.n_frames == 3
    snap = latest_snapshot(out)
    assert snap.endswith('snapshot_iter_00000004.npz')
    config = json.load(open(os.path.join(out, 'config.json')))
    assert config['options']['dataset'] == 'synthetic-svhn'
    assert config['model']['image_size'] == [64, 64] and config['model']['num_regions'] == 1
    assert config['optimizer'] == {'name': 'Adam', 'alpha': 1e-3, 'alpha_final': None,
                                   'alpha_decay_start': 0.0, 'weight_decay': 5e-4,
                                   'gradient_clipping': 2.0}
    assert config['levels'][0]['train'][0]['kind'] == 'svhn-crops'
    model = load_model(os.path.join(out, 'model.npz'))
    cfg, meta, _ = read_model_info(os.path.join(out, 'model.npz'))
    assert cfg.image_size == (64, 64) and cfg.num_regions == 1
    assert meta['dataset'] == 'synthetic-svhn' and meta['iteration'] == 4
    assert meta['level'] == 0 and meta['data_dir'] == os.path.abspath('data')
    assert meta['finished'] is True
    assert model.localization_net.conv0.W.shape == (32, 3, 3, 3)


def test_help_lists_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(['--help'])
    assert e.value.code == 0
    text = capsys.readouterr().out
    parser = cli.build_parser()
    for action in parser._actions:
        if action.help == '==SUPPRESS==' or action.dest == 'help':
            continue
        assert action.option_strings[0] in text
    chunks = text.split('\n  --')[1:]
    undocumented = [c.split()[0] for c in chunks if 'default' not in ' '.join(c.split())]
    assert undocumented == []
    for group in ('data:', 'model:', 'optimization:', 'curriculum and restarts:', 'output:',
                  'devices:', 'examples:'):
        assert group in text


@pytest.mark.parametrize('argv, message', [
    (['--dataset', 'nonsense'], "unknown dataset preset 'nonsense'"),
    (['--batch-size', '0'], 'expected a number > 0'),
    (['--gpus', 'a,b'], '--gpus takes GPU ids'),
    pytest.param(['--gpus', '0'], '--gpus needs CuPy and a CUDA GPU',
                 marks=pytest.mark.skipif('_has_gpu()', reason='this machine has a GPU')),
    (['--dataset', 'missing/gt.tsv'], 'missing/gt.tsv does not exist'),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        cli.main(argv + ['--out', str(tmp_path / 'x')])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and 'Traceback' not in err[0]


def test_missing_data_folder_names_the_converter(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(['--dataset', 'svhn', '--data-dir', str(tmp_path / 'nowhere'),
                  '--out', str(tmp_path / 'x')])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'datasets/svhn/prepare.py crops' in err and 'Traceback' not in err

"""What a run shows: the curves (titles, axis labels, legend texts, the IoU point at
iteration 0, lr.png only for a changing rate), the console table (at most 100 columns,
times as mm:ss) and the progress bar's estimate."""
import io
import json
import os
import types

import chainer
import numpy
import pytest
from PIL import Image

from chainer_see.progress import format_duration
from chainer_see.training.extensions import console
from chainer_see.training.extensions import plots
from tests.training.helpers import random_levels
from tests.training.helpers import small_run


def _trainer(iteration, observation, before=False, out='.'):
    return types.SimpleNamespace(
        observation=observation, is_before_training=before, out=out,
        updater=types.SimpleNamespace(iteration=iteration, epoch=0, epoch_detail=0.0))


def _texts(fig):
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), legend


def test_every_curve_of_a_run_has_title_axis_labels_and_named_lines(tmp_path):
    curves = plots.training_curves((1, 'iteration'), regularizers=True, words=2, boxes=True)
    names = [c.file_name for c in curves]
    assert names == ['regularizers.png', 'loss.png', 'accuracy.png', 'iou.png', 'lr.png']
    keys = [k for c in curves for k in c.keys]
    values = {k: 0.1 * (i + 1) for i, k in enumerate(keys)}
    for curve in curves:
        curve(_trainer(0, dict(values), before=True, out=str(tmp_path)))
        curve(_trainer(1, {k: v * 2 for k, v in values.items()}, out=str(tmp_path)))
        title, xlabel, ylabel, legend = _texts(curve.figure())
        assert title and ylabel and xlabel == 'iteration'
        assert legend == [plots.LABELS[k] for k in curve.keys]      # no raw report keys
        assert not any(text.startswith(('main/', 'validation/')) for text in legend)
        assert os.path.exists(str(tmp_path / curve.file_name))
    accuracy = curves[2]
    assert accuracy.keys == ('main/sequence_accuracy', 'validation/main/sequence_accuracy',
                             'main/slot_accuracy', 'validation/main/slot_accuracy')
    assert 'Sequence accuracy' in _texts(accuracy.figure())[0]
    assert plots.LABELS['main/slot_accuracy'] == 'training per-slot accuracy (published)'
    # one word per image: per-slot accuracy is sequence accuracy, drawn once
    one_word = plots.training_curves((1, 'iteration'), words=1)
    assert [c.file_name for c in one_word] == ['loss.png', 'accuracy.png', 'lr.png']
    assert one_word[1].keys == ('main/sequence_accuracy', 'validation/main/sequence_accuracy')


def test_curve_averages_between_points_and_starts_before_training(tmp_path):
    curve = plots.CurvePlot(['a', 'b'], 'c.png', 't', 'y', trigger=(2, 'iteration'))
    curve(_trainer(0, {'a': 5.0}, before=True, out=str(tmp_path)))
    assert curve.data == {'a': [(0, 5.0)], 'b': []}
    curve(_trainer(1, {'a': 1.0, 'b': 4.0}, out=str(tmp_path)))
    assert curve.data['a'] == [(0, 5.0)]                 # no point at iteration 1
    curve(_trainer(2, {'a': 3.0}, out=str(tmp_path)))
    assert curve.data == {'a': [(0, 5.0), (2, 2.0)], 'b': [(2, 4.0)]}
    assert Image.open(str(tmp_path / 'c.png')).size[0] > 300


def test_flat_learning_rate_draws_no_lr_png_until_it_changes(tmp_path):
    lr = [c for c in plots.training_curves((1, 'iteration')) if c.file_name == 'lr.png'][0]
    for it in (1, 2, 3):
        lr(_trainer(it, {'lr': 1e-3}, out=str(tmp_path)))
    assert len(lr.data['lr']) == 3 and not os.path.exists(str(tmp_path / 'lr.png'))
    lr(_trainer(4, {'lr': 5e-4}, out=str(tmp_path)))
    assert os.path.exists(str(tmp_path / 'lr.png'))


def test_curve_points_survive_a_snapshot_and_old_snapshots_load(tmp_path):
    curve = plots.CurvePlot(['a'], 'c.png', 't', 'y', trigger=(1, 'iteration'))
    curve.add_points(0, {'a': 0.5})
    curve.add_points(3, {'a': 0.25})
    path = str(tmp_path / 's.npz')
    chainer.serializers.save_npz(path, curve)
    again = plots.CurvePlot(['a'], 'c.png', 't', 'y')
    chainer.serializers.load_npz(path, again)
    assert again.data == {'a': [(0, 0.5), (3, 0.25)]}
    numpy.savez(str(tmp_path / 'old.npz'), other=numpy.zeros(1))   # no entry of this curve
    fresh = plots.CurvePlot(['a'], 'c.png', 't', 'y')
    chainer.serializers.load_npz(str(tmp_path / 'old.npz'), fresh)
    assert fresh.data == {'a': []}


@pytest.mark.parametrize('seconds, text', [(0, '00:00'), (831.4, '13:51'),
                                           (3599.6, '1:00:00'), (3723, '1:02:03'),
                                           (36000, '10:00:00')])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_console_table_fits_100_columns_with_the_widest_values():
    columns = console.training_columns(regularizers=True, boxes=True)
    assert [c.key for c in columns if 'accuracy' in c.key] == [
        'main/sequence_accuracy', 'validation/main/sequence_accuracy']
    widest = {'iteration': 123456789, 'elapsed_time': 359999.0, 'main/loss': 1.2345e+21,
              'validation/main/loss': float('nan'), 'main/area': 1.23e-10,
              'main/sequence_accuracy': 1.0, 'validation/main/sequence_accuracy': 0.125,
              'validation/main/iou': 0.5, 'level': 12, 'lr': 1.25e-05}
    out = io.StringIO()
    table = console.ConsoleTable(columns, out=out)
    log = [widest, {'iteration': 0, 'elapsed_time': 831.4, 'validation/main/iou': 0.25}]
    table(types.SimpleNamespace(get_extension=lambda name: types.SimpleNamespace(log=log)))
    lines = out.getvalue().replace(console.ERASE, '').splitlines()
    assert len(lines) == 3 and table.width <= console.MAX_WIDTH
    assert all(len(line) <= console.MAX_WIDTH for line in lines), [len(x) for x in lines]
    assert len({len(line) for line in lines}) == 1             # aligned columns
    header = lines[0].split()
    assert header[:4] == ['iteration', 'elapsed', 'loss', 'val']
    assert '99:59:59' in lines[1] and '1.25e-05' in lines[1] and '0.125' in lines[1]
    assert lines[2].split() == ['0', '13:51', '0.250']         # blank cells stay blank


def test_progress_bar_estimate_reads_minutes_and_seconds():
    bar = console.TrainingProgressBar(10000, bar_length=20, out=io.StringIO())
    lines = bar.lines(iteration=1690, epoch=0, elapsed=100.0, speed=10.0)
    assert lines[-1].rstrip().endswith('Estimated time to finish: 13:51.')
    assert lines[0].startswith('     total [###.') and '16.90%' in lines[0]
    assert all(len(line.rstrip('\n')) <= console.MAX_WIDTH for line in lines)
    long = bar.lines(iteration=0, epoch=0, elapsed=0.0, speed=2.0)
    assert long[-1].rstrip().endswith('time to finish: 1:23:20.')
    # a time limit that comes first: 60 s left of 10 minutes
    timed = console.TrainingProgressBar(10000, time_limit=600.0, out=io.StringIO())
    lines = timed.lines(iteration=100, epoch=0, elapsed=540.0, speed=10.0)
    assert lines[-1].rstrip().endswith('time to finish: 01:00.') and '90.00%' in lines[0]
    assert console.estimated_seconds(5, 10, float('inf')) is None
    assert console.estimated_seconds(10, 10, float('inf')) == 0.0


def test_progress_bar_draws_on_a_terminal_through_the_trainer():
    out = io.StringIO()
    bar = console.TrainingProgressBar(100, update_interval=1, out=out)
    trainer = types.SimpleNamespace(elapsed_time=3.0, updater=types.SimpleNamespace(
        iteration=10, epoch=0, epoch_detail=0.1))
    bar(trainer)
    trainer.updater.iteration = 20
    bar(trainer)
    bar.finalize()
    text = out.getvalue()
    assert 'Estimated time to finish: ' in text and '0:00:' not in text
    assert '.' not in text.split('Estimated time to finish: ')[-1].split('.\n')[0]


@pytest.mark.slow
def test_run_logs_and_plots_the_iou_from_iteration_0_and_lr_only_when_it_changes(tmp_path):
    constant = small_run(tmp_path / 'constant', levels=random_levels((1,)), log_interval=2,
                         plot_images=0)
    constant.run()
    log = json.load(open(str(tmp_path / 'constant' / 'log')))
    assert [e['iteration'] for e in log] == [0, 2, 4]
    assert 0 < log[0]['validation/main/iou'] <= 1 and 'validation/main/loss' not in log[0]
    for entry in log[1:]:
        for key in ('main/sequence_accuracy', 'validation/main/sequence_accuracy',
                    'main/slot_accuracy', 'validation/main/slot_accuracy'):
            assert key in entry
        assert 'main/accuracy' not in entry and 'validation/main/accuracy' not in entry
    iou = constant.trainer.get_extension('plot_iou')
    assert [x for x, _ in iou.data['validation/main/iou']] == [0, 2, 4]
    assert iou.data['validation/main/iou'][0][1] == pytest.approx(log[0]['validation/main/iou'])
    names = set(os.listdir(str(tmp_path / 'constant')))
    assert {'iou.png', 'loss.png', 'accuracy.png'} <= names and 'lr.png' not in names

    decaying = small_run(tmp_path / 'decaying', levels=random_levels((1,)), log_interval=1,
                         plot_images=0, lr_final=1e-5)
    decaying.run()
    assert os.path.exists(str(tmp_path / 'decaying' / 'lr.png'))
    lr = decaying.trainer.get_extension('plot_lr').data['lr']
    assert len(lr) == 4 and lr[0][1] > lr[-1][1]

"""experiments/small_scale.py: the commands it runs and the summary it collects."""
import json
import os

from PIL import Image

from tests.scripts import load_experiment

HERE = os.path.dirname(os.path.abspath(__file__))


def _driver():
    return load_experiment('small_scale')


def test_commands_train_then_evaluate_and_resume_from_snapshots(tmp_path):
    d = _driver()
    out = str(tmp_path / 'random-no-curriculum')
    cmds = d.steps(d.EXPERIMENTS['random-no-curriculum'], out, 12)
    assert len(cmds) == 2
    train, ev = cmds
    assert train[1].endswith('train.py') and '--no-curriculum' in train
    assert train[train.index('--time-limit') + 1] == '12'
    assert train[train.index('--dataset') + 1] == 'synthetic-random'
    assert '--resume' not in train
    assert ev[1].endswith('evaluate.py') and ev[ev.index('--count') + 1] == '1000'
    os.makedirs(out)
    open(os.path.join(out, 'config.json'), 'w').close()
    # killed before its first snapshot: train.py refuses to resume or reuse the folder
    again = d.steps(d.EXPERIMENTS['random-no-curriculum'], out, 12)[0]
    assert '--overwrite' in again and '--resume' not in again
    open(os.path.join(out, 'snapshot_iter_00000100.npz'), 'w').close()
    again = d.steps(d.EXPERIMENTS['random-no-curriculum'], out, 12)[0]
    assert '--resume' in again and '--overwrite' not in again


def test_summary_table_curves_and_contact_sheet(tmp_path):
    d = _driver()
    out = tmp_path / 'grid'
    (out / 'eval' / 'visualizations').mkdir(parents=True)
    for k in range(3):
        Image.new('RGB', (20, 10), (k * 80, 0, 0)).save(
            str(out / 'eval' / 'visualizations' / ('%d.png' % k)))
    (out / 'eval' / 'report.json').write_text(json.dumps(
        {'sequence_accuracy': 0.25, 'word_accuracy': 0.5, 'char_accuracy': 0.75,
         'mean_iou': 0.4567, 'iou50': 0.5}))
    (out / 'log').write_text(json.dumps([
        {'iteration': 100, 'elapsed_time': 60.0, 'validation/main/sequence_accuracy': 0.1,
         'validation/main/loss': 5.0, 'validation/main/iou': 0.3, 'level': 0, 'restarts': 0},
        {'iteration': 200, 'elapsed_time': 150.0, 'level': 1, 'restarts': 0}]))
    rows = d.collect(str(tmp_path), ['svhn', 'grid'], {'svhn': 60, 'grid': 2.5})
    assert [r['experiment'] for r in rows] == ['grid']       # svhn has no report
    r = rows[0]
    assert (r['iterations'], r['minutes'], r['level']) == (200, 2.5, 1)
    table = (tmp_path / 'summary.md').read_text()
    assert '| grid | 200 | 2.5 | 1 | 0 | 25.0 % | 75.0 % | 0.457 | 50.0 % |' in table
    assert Image.open(r['predictions']).size == (4 * 20, 10)
    assert Image.open(str(tmp_path / 'curves.png')).size[0] > 500
    assert '--time-limit 2.5' in r['train_command']


def test_grid_reader_starts_from_the_svhn_run_and_waits_for_it(tmp_path, capsys):
    d = _driver()
    runs = tmp_path / 'runs'
    train = d.steps(d.EXPERIMENTS['grid-reader'], str(runs / 'grid-reader'), 5)[0]
    assert train[train.index('--load-recognition') + 1] == str(runs / 'svhn' / 'model.npz')
    # the svhn run has not finished: nothing is started, the driver says why
    assert d.main(['--runs', str(runs), '--only', 'grid-reader', '--no-baselines']) == 1
    assert 'grid-reader: waiting for svhn' in capsys.readouterr().out
    assert not (runs / 'grid-reader' / 'experiment.log').exists()


def test_the_start_of_a_run_with_a_borrowed_reader_is_its_own_baseline(tmp_path):
    import numpy
    from chainer_see import load_model, read_model_info, save_model
    from chainer_see.training.build import SEETraining, default_options
    d = _driver()
    runs = tmp_path / 'runs'
    exp = d.EXPERIMENTS['grid-layout']
    assert d.starts_elsewhere(exp) and not d.starts_elsewhere(d.EXPERIMENTS['grid'])
    out = str(runs / 'grid-layout')
    assert d.start_steps(exp, out) == []          # the svhn run it borrows from is missing
    svhn = SEETraining(default_options(dataset='synthetic-svhn', out=str(runs / 'svhn'),
                                       plot_images=0, quiet=True, validation_size=1, seed=3))
    save_model(svhn.model, str(runs / 'svhn' / 'model.npz'), metadata={'finished': True})
    ev, = d.start_steps(exp, out)
    assert ev[ev.index('--out') + 1] == os.path.join(out, 'start', 'eval')
    path = os.path.join(out, 'start', 'model.npz')
    assert read_model_info(path)[0].slot_layout == 'grid'
    started, borrowed = load_model(path), load_model(str(runs / 'svhn' / 'model.npz'))
    mine = dict(started.recognition_net.namedparams())
    for k, p in borrowed.recognition_net.namedparams():
        numpy.testing.assert_array_equal(mine[k].array, p.array)

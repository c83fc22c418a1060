"""experiments/box_fraction.py: the issue-17 runs it asks for and the table and plot it
makes from their folders."""
import json

from PIL import Image

from tests.scripts import load_experiment


def _script():
    return load_experiment('box_fraction')


def test_each_share_is_one_run_of_the_same_budget_that_differs_only_in_F():
    m = _script()
    exps = [m.small_scale.EXPERIMENTS[n] for n in m.names(m.small_scale.BOX_FRACTIONS)]
    assert [e.args[e.args.index('--box-fraction') + 1] for e in exps] == ['0', '0.01', '0.1',
                                                                           '1']
    assert len({e.minutes for e in exps}) == 1 and len({e.dataset for e in exps}) == 1
    strip = [tuple(a for i, a in enumerate(e.args) if i != e.args.index('--box-fraction') + 1)
             for e in exps]
    assert len(set(strip)) == 1
    train = m.small_scale.train_command(exps[2], '/r/grid128-boxes-0.1', 8)
    assert train[train.index('--box-fraction') + 1] == '0.1'
    assert '--no-curriculum' in train and '--load-localization' not in train


def _run_folder(root, f, iterations, iou, boxes):
    out = root / ('grid128-boxes-%g' % f)
    (out / 'eval').mkdir(parents=True)
    (out / 'eval' / 'report.json').write_text(json.dumps(
        {'sequence_accuracy': 0.0, 'char_accuracy': 0.1, 'mean_iou': iou, 'iou50': iou / 2}))
    log = [{'iteration': 50 * (k + 1), 'elapsed_time': 30.0 * (k + 1)} for k in range(
        iterations // 50)]
    for entry, b in zip(log, boxes):
        entry['main/box'] = b
    (out / 'log').write_text(json.dumps(log))


def test_table_and_plot_from_the_run_folders(tmp_path):
    m = _script()
    _run_folder(tmp_path, 0.0, 400, 0.05, [])
    _run_folder(tmp_path, 0.1, 300, 0.41, [0.0, 0.8, 0.3])
    _run_folder(tmp_path, 1.0, 200, 0.62, [2.0, 1.0])
    rows = m.rows_of(str(tmp_path), [0.0, 0.01, 0.1, 1.0])   # 0.01 has no report yet
    assert [r['box_fraction'] for r in rows] == [0.0, 0.1, 1.0]
    r = rows[1]
    assert (r['iterations'], r['boxed_images_seen'], r['minutes']) == (300, 480, 3.0)
    assert (r['first_box_loss'], r['last_box_loss']) == (0.0, 0.3)
    table = m.table(rows)
    assert '| 10 % | 300 | 3.0 | 480 | 0.0 % | 10.0 % | 0.410 | 20.5 % |' in table
    assert '| 0 % | 400 | 4.0 | 0 |' in table
    path = m.plot(rows, str(tmp_path / 'box_fraction.png'))
    assert Image.open(path).size[0] > 800


def test_summary_only_collects_without_training(tmp_path, capsys):
    m = _script()
    _run_folder(tmp_path, 1.0, 100, 0.5, [1.0, 0.5])
    assert m.main(['--runs', str(tmp_path), '--summary-only']) == 0
    rows = json.loads((tmp_path / 'box_fraction.json').read_text())
    assert [r['box_fraction'] for r in rows] == [1.0]
    assert '| 100 % | 100 | 1.0 | 1600 |' in (tmp_path / 'box_fraction.md').read_text()
    assert not (tmp_path / 'grid128-boxes-0' / 'experiment.log').exists()


def test_the_random_set_starts_every_share_from_the_text_only_random128_model():
    m = _script()
    exps = [m.small_scale.EXPERIMENTS[n] for n in m.names(m.small_scale.BOX_FRACTIONS,
                                                          'random')]
    assert [e.name for e in exps] == ['random128-boxes-0', 'random128-boxes-0.01',
                                      'random128-boxes-0.1', 'random128-boxes-1']
    assert {e.dataset for e in exps} == {'synthetic-random128'}
    assert {e.needs for e in exps} == {('random128',)}
    strip = {tuple(a for i, a in enumerate(e.args) if i != e.args.index('--box-fraction') + 1)
             for e in exps}
    assert len(strip) == 1 and len({e.minutes for e in exps}) == 1
    train = m.small_scale.train_command(exps[1], '/r/random128-boxes-0.01', 10, runs='/r')
    assert train[train.index('--box-fraction') + 1] == '0.01'
    assert train[train.index('--start-level') + 1] == '4'
    assert train[train.index('--load-localization') + 1] == '/r/random128/model.npz'
    assert '--no-curriculum' not in train


def test_summary_of_the_random_set_goes_to_its_own_files(tmp_path):
    m = _script()
    out = tmp_path / 'random128-boxes-0.1'
    (out / 'eval').mkdir(parents=True)
    (out / 'eval' / 'report.json').write_text(json.dumps(
        {'sequence_accuracy': 0.25, 'char_accuracy': 0.7, 'mean_iou': 0.45, 'iou50': 0.4}))
    (out / 'log').write_text(json.dumps([{'iteration': 600, 'elapsed_time': 600.0,
                                          'main/box': 0.2}]))
    assert m.main(['--runs', str(tmp_path), '--set', 'random', '--summary-only']) == 0
    assert '| 10 % | 600 | 10.0 | 960 | 25.0 % | 70.0 % | 0.450 | 40.0 % |' in (
        tmp_path / 'box_fraction_random.md').read_text()
    assert (tmp_path / 'box_fraction_random.png').exists()
    assert not (tmp_path / 'box_fraction.md').exists()

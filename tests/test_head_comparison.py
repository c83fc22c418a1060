"""experiments/head_comparison.py: the issue-20 runs it asks small_scale for, the lexicon it
builds, the CTC model read under it, and the table and plot it makes from the folders."""
import csv
import json
import os

import pytest
from PIL import Image

from tests.scripts import load_experiment


def _script():
    return load_experiment('head_comparison')


@pytest.fixture(scope='module')
def m():
    return _script()


@pytest.fixture(scope='module')
def tests_1000(m):
    return m.test_numbers()


def test_the_three_runs_differ_only_in_the_head(m):
    exps = [m.small_scale.EXPERIMENTS[n] for n in m.names()]
    assert m.names() == ['svhn', 'svhn-independent', 'svhn-ctc']
    assert {e.dataset for e in exps} == {'synthetic-svhn'} and {e.minutes for e in exps} == {60}

    def head(e):
        return e.args[e.args.index('--head') + 1] if '--head' in e.args else 'lstm'

    def rest(e):
        k = e.args.index('--head') if '--head' in e.args else len(e.args)
        return e.args[:k] + e.args[k + 2:]
    assert [head(e) for e in exps] == ['lstm', 'independent', 'ctc']
    assert len({rest(e) for e in exps}) == 1


def test_the_test_numbers_are_those_evaluate_reads(m, tests_1000):
    from chainer_see.data.presets import evaluation_dataset
    ds = evaluation_dataset('synthetic-svhn', image_size=(64, 64), count=1000)
    assert tests_1000 == sorted({w for i in range(1000) for w in ds.words(i)})
    assert 500 < len(tests_1000) < 1000
    assert all(w.isdigit() and 1 <= len(w) <= 5 for w in tests_1000)


def test_lexicon_holds_the_test_numbers_and_n_distinct_distractors(m, tests_1000, tmp_path):
    words = m.lexicon_words(tests_1000, 10000, seed=0)
    assert len(words) == len(set(words)) == len(tests_1000) + 10000
    distractors = set(words) - set(tests_1000)
    assert set(tests_1000) <= set(words) and len(distractors) == 10000
    assert all(w.isdigit() and 1 <= len(w) <= 5 for w in distractors)
    # every 1-digit number is a test number; the other lengths all have distractors
    assert {len(w) for w in distractors} == {2, 3, 4, 5}
    assert words[:len(tests_1000)] != tests_1000                      # shuffled
    assert m.lexicon_words(tests_1000, 10000, seed=0) == words        # the same seed
    other = m.lexicon_words(tests_1000, 10000, seed=1)
    assert other != words and set(other) != set(words)
    # the file the --lexicon option reads: the same words, in the same order
    from chainer_see.evaluation.lexicon import load_lexicon
    path = str(tmp_path / 'lex' / 'lexicon.txt')
    sha = m.write_lexicon(path, words)
    assert load_lexicon(path) == words
    mtime = os.stat(path).st_mtime_ns
    assert m.write_lexicon(path, words) == sha and os.stat(path).st_mtime_ns == mtime
    assert m.write_lexicon(path, other) != sha
    with pytest.raises(ValueError, match='distractors'):
        m.distractors(m.NUMBER_SPACE, ['1'], 0)


def _fake_run(root, name, iterations, seq, iou, folder='eval'):
    out = root / name
    (out / folder).mkdir(parents=True)
    (out / folder / 'report.json').write_text(json.dumps(
        {'sequence_accuracy': seq, 'char_accuracy': seq + 0.05, 'mean_iou': iou,
         'iou50': iou / 2}))
    (out / 'log').write_text(json.dumps([{'iteration': 50 * (k + 1),
                                          'elapsed_time': 30.0 * (k + 1)}
                                         for k in range(iterations // 50)]))
    return out


def _fake_runs(root):
    _fake_run(root, 'svhn', 400, 0.8, 0.6)
    ctc = _fake_run(root, 'svhn-ctc', 600, 0.7, 0.55)
    (ctc / 'eval-lexicon').mkdir()
    (ctc / 'eval-lexicon' / 'report.json').write_text(json.dumps(
        {'sequence_accuracy': 0.75, 'char_accuracy': 0.8, 'mean_iou': 0.55, 'iou50': 0.275}))
    (ctc / 'eval-lexicon' / 'lexicon.json').write_text(json.dumps(
        {'size': 10662, 'test_numbers': 662, 'distractors': 10000, 'seed': 0, 'count': 1000,
         'lexicon_distance': 3, 'sha256': 'x'}))


def test_table_and_plot_from_the_run_folders(m, tmp_path):
    _fake_runs(tmp_path)                      # svhn-independent has no report yet
    rows, missing = m.rows_of(str(tmp_path))
    assert [r['head'] for r in rows] == ['LSTM', 'CTC', 'CTC + lexicon']
    assert missing == [('independent', os.path.join('svhn-independent', 'eval',
                                                    'report.json'))]
    assert (rows[1]['iterations'], rows[1]['minutes']) == (600, 6.0)
    assert rows[0]['lexicon_size'] is None and rows[2]['lexicon_size'] == 10662
    table = m.table(rows, missing)
    assert '| LSTM | 400 | 4.0 | 80.0 % | 85.0 % | 0.600 | 30.0 % | - |' in table
    assert '| CTC | 600 | 6.0 | 70.0 % | 75.0 % | 0.550 | 27.5 % | - |' in table
    assert '| CTC + lexicon | 600 | 6.0 | 75.0 % | 80.0 % | 0.550 | 27.5 % | 10,662 words |' \
        in table
    assert '662 distinct numbers of the 1,000 held-out images and 10,000 random' in table
    assert 'Not done yet: independent (no svhn-independent' in table
    path = m.plot(rows, str(tmp_path / 'head_comparison.png'))
    assert Image.open(path).size[0] > 600


def test_summary_only_collects_without_running_anything(m, tmp_path):
    _fake_runs(tmp_path)
    assert m.main(['--runs', str(tmp_path), '--summary-only']) == 0
    doc = json.loads((tmp_path / 'head_comparison.json').read_text())
    assert [r['head'] for r in doc['rows']] == ['LSTM', 'CTC', 'CTC + lexicon']
    assert doc['not_done'] == ['independent']
    assert '| CTC | 600 | 6.0 |' in (tmp_path / 'head_comparison.md').read_text()
    assert (tmp_path / 'head_comparison.png').exists()
    assert not (tmp_path / 'head_comparison' / 'lexicon.txt').exists()
    assert not (tmp_path / 'svhn-independent' / 'experiment.log').exists()


def test_nothing_done_yet_is_a_table_that_says_so(m, tmp_path):
    assert m.main(['--runs', str(tmp_path), '--summary-only']) == 1
    md = (tmp_path / 'head_comparison.md').read_text()
    assert 'Not done yet: LSTM (no svhn' in md and 'CTC + lexicon (no svhn-ctc' in md
    assert json.loads((tmp_path / 'head_comparison.json').read_text())['rows'] == []


def _tiny_ctc_run(m, runs, digit):
    """A ctc model trained 2 iterations into RUNS/svhn-ctc, its reader made to read
    ``digit`` everywhere, evaluated (without a lexicon) on 4 images into eval/."""
    import chainer_see
    from chainer_see.evaluation import evaluate as ev
    from chainer_see.training import cli
    out = str(runs / 'svhn-ctc')
    assert cli.main(['--out', out, '--dataset', 'synthetic-svhn', '--head', 'ctc',
                     '--iterations', '2', '--batch-size', '2', '--validation-size', '2',
                     '--test-interval', '2', '--log-interval', '1', '--no-gif',
                     '--quiet']) == 0
    path = os.path.join(out, 'model.npz')
    metadata = chainer_see.read_model_info(path)[1]
    model = chainer_see.load_model(path)
    k = model.config.get_char_map().encode(digit)[0]
    model.recognition_net.classifier.b.array[k] += 100.0
    chainer_see.save_model(model, path, metadata=metadata)
    assert m.small_scale.finished(out)
    assert ev.main([path, '--count', '4', '--no-progress', '--out',
                    os.path.join(out, 'eval')]) == 0
    assert m.small_scale.steps(m.small_scale.EXPERIMENTS['svhn-ctc'], out, 2) == []
    return out


def _texts(folder):
    with open(os.path.join(folder, 'predictions.csv'), newline='') as fh:
        return [row['text'] for row in csv.DictReader(fh)]


def test_main_runs_the_three_then_reads_the_ctc_model_under_the_lexicon(m, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(m, 'EVAL_COUNT', 4)
    lexicon = set(m.lexicon_words(m.test_numbers(4), 50, 1))
    digit = next(d for d in '0123456789' if d not in lexicon)
    out = _tiny_ctc_run(m, tmp_path, digit)
    calls = []
    monkeypatch.setattr(m.small_scale, 'main', lambda argv: calls.append(argv) or 0)
    assert m.main(['--runs', str(tmp_path), '--minutes', '2', '--distractors', '50',
                   '--seed', '1']) == 0
    argv, = calls
    assert argv[argv.index('--only') + 1:argv.index('--no-baselines')] == m.names()
    assert argv[argv.index('--minutes') + 1:] == ['svhn=2', 'svhn-independent=2',
                                                  'svhn-ctc=2']
    path = tmp_path / 'head_comparison' / 'lexicon.txt'
    assert set(path.read_text().split()) == lexicon
    assert '--lexicon %s' % path in (tmp_path / 'svhn-ctc' / 'experiment.log').read_text()
    # without the lexicon the reader reads the digit; under it, only lexicon words
    assert set(_texts(os.path.join(out, 'eval'))) == {digit}
    read = _texts(os.path.join(out, 'eval-lexicon'))
    assert len(read) == 4 and set(read) <= lexicon
    stamp = json.loads((tmp_path / 'svhn-ctc' / 'eval-lexicon' / 'lexicon.json').read_text())
    assert (stamp['size'], stamp['distractors'], stamp['seed'], stamp['count']) == (
        len(lexicon), 50, 1, 4)
    doc = json.loads((tmp_path / 'head_comparison.json').read_text())
    assert [r['head'] for r in doc['rows']] == ['CTC', 'CTC + lexicon']
    assert doc['rows'][1]['lexicon_size'] == len(lexicon)
    assert doc['not_done'] == ['LSTM', 'independent']
    # done with this lexicon: not evaluated again; another lexicon: evaluated again
    runs = []
    monkeypatch.setattr(m.small_scale, 'run', lambda cmd, log, env: runs.append(cmd) or
                        type('P', (), {'wait': lambda self: 0})())
    assert m.main(['--runs', str(tmp_path), '--distractors', '50', '--seed', '1']) == 0
    assert runs == []
    assert m.main(['--runs', str(tmp_path), '--distractors', '60', '--seed', '1']) == 0
    assert len(runs) == 1 and '--lexicon' in runs[0]
    # a failed lexicon evaluation is the exit status (the table is still written)
    monkeypatch.setattr(m.small_scale, 'run', lambda cmd, log, env:
                        type('P', (), {'wait': lambda self: 3})())
    assert m.main(['--runs', str(tmp_path), '--distractors', '70']) == 3
    assert '| CTC | 2 |' in (tmp_path / 'head_comparison.md').read_text()

"""Reading a ctc-head model (issue 20): ``ctc_ids``, the metrics and ``SEE.predict`` on
column logits, ``train.py --head ctc`` and ``predict.py --lexicon``."""
import io
import json
import os

import numpy
import pytest

import chainer_see
from chainer_see import SEE
from chainer_see.evaluation import metrics
from chainer_see.evaluation import predict as pr
from chainer_see.evaluation.ctc_decode import confidence, ctc_ids, greedy_decode
from chainer_see.training import cli

from tests.evaluation import helpers as h


def columns(paths, K=6):
    """Logits ``(len(paths), W, K)`` whose argmax per column is ``paths[i][w]``."""
    z = numpy.zeros((len(paths), len(paths[0]), K), numpy.float32)
    for i, path in enumerate(paths):
        for w, c in enumerate(path):
            z[i, w, c] = 5.0
    return z


def test_ctc_ids_collapses_repeats_drops_blanks_and_pads_to_t():
    z = columns([[1, 1, 0, 1, 2, 2, 0],      # 1 1 2: a blank separates the two 1s
                 [0, 0, 0, 0, 0, 0, 0],      # empty
                 [3, 3, 3, 3, 3, 3, 3],      # 3
                 [1, 2, 3, 4, 5, 1, 2]])     # 7 labels, cut to T = 3
    ids = ctc_ids(z.reshape(2, 2, 7, 6), 3)
    assert ids.dtype == numpy.int32 and ids.shape == (2, 2, 3)
    numpy.testing.assert_array_equal(ids.reshape(4, 3), [[1, 1, 2], [0, 0, 0], [3, 0, 0],
                                                         [1, 2, 3]])


def test_ctc_ids_rejects_other_shapes():
    with pytest.raises(ValueError, match=r'\(B, N, W, K\)'):
        ctc_ids(numpy.zeros((2, 7, 6), numpy.float32), 3)


def test_metrics_read_ctc_columns_through_ctc_ids():
    z = columns([[1, 1, 0, 1, 2, 2, 0], [0, 0, 0, 0, 0, 0, 0]]).reshape(1, 2, 7, 6)
    labels = numpy.array([[[1, 1, 2], [0, 0, 0]]], numpy.int32)
    numpy.testing.assert_array_equal(metrics.predictions(z, head='ctc'), labels)
    numpy.testing.assert_array_equal(metrics.predictions(z, head='ctc', num_chars=3), labels)
    # given labels of T, logits of 2T + 1 steps are read as ctc columns by themselves
    assert metrics.sequence_accuracy(z, labels) == 1.0
    assert metrics.word_correct(z, labels).all()
    # plain argmax would read [1, 1, 0, 1, 2, 2, 0] -> "11122": not the label
    assert metrics.evaluate(z, labels)['accuracy'] == 1.0


@pytest.fixture(scope='module')
def ctc_model():
    numpy.random.seed(0)
    model = SEE(h.tiny_svhn_config(head='ctc'))
    # a reader that reads something: the classifier's weights scaled up
    model.recognition_net.classifier.W.array[...] *= 30
    return model


def test_see_predict_of_a_ctc_model_is_the_greedy_reading(ctc_model):
    cfg = ctc_model.config
    x = numpy.random.RandomState(2).rand(3, 3, *cfg.image_size).astype(numpy.float32)
    r = ctc_model.predict(x)
    z = ctc_model.infer(x).logits.array
    B, N, W, K = z.shape
    assert W == 2 * cfg.num_chars + 1
    greedy = greedy_decode(z.reshape(B * N, W, K))
    char_map = cfg.get_char_map()
    assert r.ids.shape == (B, N, cfg.num_chars)
    assert [w for ws in r.words for w in ws] == [char_map.decode(g) for g in greedy]
    assert any(w for ws in r.words for w in ws)
    numpy.testing.assert_array_equal(r.ids, ctc_model.ids(z))
    want = numpy.array([confidence(z[b, n], greedy[b * N + n]) for b in range(B)
                        for n in range(N)]).reshape(B, N)
    numpy.testing.assert_allclose(r.word_confidences, want, rtol=1e-6)
    numpy.testing.assert_allclose(r.confidences, want.prod(axis=1), rtol=1e-6)


def test_read_with_lexicon_replaces_words_by_lexicon_words(ctc_model):
    cfg = ctc_model.config
    x = numpy.random.RandomState(2).rand(2, 3, *cfg.image_size).astype(numpy.float32)
    plain = ctc_model.predict(x)
    word = next(w for ws in plain.words for w in ws if w)
    # one lexicon word one edit from a word read, and one out of reach
    tree = pr.lexicon_mod.BKTree([word + '9', '0000000000'])
    r = pr.read_with_lexicon(ctc_model, x, cfg.get_char_map(), tree)
    for ws, read in zip(plain.words, r.words):
        for w, got in zip(ws, read):
            if not w:
                assert got == ''                       # empty slots stay empty
            elif w == word:
                assert got == word + '9'
            else:
                assert got in (w, word + '9')
    assert (r.word_confidences <= 1).all()
    # the ids are the lexicon's words (what evaluate.py --lexicon scores), blank-padded
    cmap = cfg.get_char_map()
    assert [[cmap.decode(w) for w in image] for image in r.ids] == r.words


def test_train_head_ctc_then_predict_with_a_lexicon(tmp_path):
    out = str(tmp_path / 'run')
    status = cli.main(['--out', out, '--head', 'ctc', '--iterations', '2', '--batch-size',
                       '2', '--validation-size', '2', '--test-interval', '2',
                       '--log-interval', '2', '--no-gif', '--quiet'])
    assert status == 0
    path = os.path.join(out, 'model.npz')
    config, _, _ = chainer_see.read_model_info(path)
    assert config.head == 'ctc'
    assert json.load(open(os.path.join(out, 'config.json')))['options']['head'] == 'ctc'
    # two iterations read nothing yet: make the reader read "7" everywhere
    model = chainer_see.load_model(path)
    seven = config.get_char_map().encode('7')[0]
    model.recognition_net.classifier.b.array[seven] += 100.0
    path7 = str(tmp_path / 'seven.npz')
    chainer_see.save_model(model, path7)
    img = tmp_path / 'img.png'
    h.pattern_image(numpy.random.RandomState(0), (64, 64)).save(str(img))
    words = tmp_path / 'words.txt'
    words.write_text('75\n123456\n')
    buf = io.StringIO()
    assert pr.main([path7, str(img), '--no-draw'], stdout=buf) == 0
    assert 'text: 7 ' in buf.getvalue()
    buf = io.StringIO()
    assert pr.main([path7, str(img), '--no-draw', '--lexicon', str(words)], stdout=buf) == 0
    assert 'text: 75 ' in buf.getvalue()
    buf = io.StringIO()     # beyond --lexicon-distance 0 nothing is near: "7" stays
    assert pr.main([path7, str(img), '--no-draw', '--lexicon', str(words),
                    '--lexicon-distance', '0'], stdout=buf) == 0
    assert 'text: 7 ' in buf.getvalue()


def test_evaluate_reads_under_a_lexicon(tmp_path, capsys):
    out = str(tmp_path / 'run')
    assert cli.main(['--out', out, '--head', 'ctc', '--iterations', '1', '--batch-size', '2',
                     '--validation-size', '2', '--test-interval', '1', '--no-gif',
                     '--quiet']) == 0
    model = chainer_see.load_model(os.path.join(out, 'model.npz'))
    seven = model.config.get_char_map().encode('7')[0]
    model.recognition_net.classifier.b.array[seven] += 100.0      # reads "7" everywhere
    path = h.save(model, str(tmp_path / 'seven.npz'), dataset='synthetic-svhn')
    words = tmp_path / 'words.txt'
    words.write_text('75\n')
    from chainer_see.evaluation import evaluate as ev

    def read_column(args):
        assert ev.main([path, '--count', '4', '--no-progress', '--out',
                        str(tmp_path / args[0])] + args[1:]) == 0
        rows = (tmp_path / args[0] / 'predictions.csv').read_text().splitlines()
        return {line.split(',')[2] for line in rows[1:]}
    assert read_column(['plain']) == {'7'}
    assert read_column(['lex', '--lexicon', str(words)]) == {'75'}
    lstm = h.save(h.fixed_model(h.tiny_svhn_config(), varied=False),
                  str(tmp_path / 'lstm.npz'), dataset='synthetic-svhn')
    capsys.readouterr()
    assert ev.main([lstm, '--count', '2', '--no-progress', '--lexicon', str(words)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'ctc' in err


def test_lexicon_needs_a_ctc_model(tmp_path, capsys):
    model = h.fixed_model(h.tiny_svhn_config(), varied=False)
    path = h.save(model, str(tmp_path / 'lstm.npz'), dataset='synthetic-svhn')
    img = tmp_path / 'img.png'
    h.pattern_image(numpy.random.RandomState(0), (40, 40)).save(str(img))
    words = tmp_path / 'words.txt'
    words.write_text('12\n')
    capsys.readouterr()
    assert pr.main([path, str(img), '--no-draw', '--lexicon', str(words)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'ctc' in err and "'lstm'" in err


def test_lexicon_file_missing_or_empty_exits_2(ctc_model, tmp_path, capsys):
    path = h.save(ctc_model, str(tmp_path / 'ctc.npz'), dataset='synthetic-svhn')
    img = tmp_path / 'img.png'
    h.pattern_image(numpy.random.RandomState(0), (40, 40)).save(str(img))
    capsys.readouterr()
    assert pr.main([path, str(img), '--no-draw', '--lexicon', str(tmp_path / 'no')]) == 2
    assert 'lexicon file not found' in capsys.readouterr().err
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    assert pr.main([path, str(img), '--no-draw', '--lexicon', str(empty)]) == 2
    assert 'holds no word' in capsys.readouterr().err

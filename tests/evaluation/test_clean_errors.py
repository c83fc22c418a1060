"""evaluate.py, predict.py and the VisualBackprop command on bad input: exit status 2, one
line on stderr naming the file (and the ground-truth line), no traceback, nothing
half-written left behind; checks of the output folder come before any work."""
import io
import os
import subprocess
import sys

import pytest
from PIL import Image

from chainer_see.evaluation import evaluate as ev_mod
from chainer_see.evaluation import inference
from chainer_see.evaluation import predict as pr
from chainer_see.evaluation import visual_backprop

from tests.evaluation import helpers as h
from tests.model.test_model_io import DAMAGES, _damaged

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A saved tiny model, two readable images, a 1x1 and a 2x2 one, and ground truth."""
    tmp = tmp_path_factory.mktemp('clean_errors')
    import numpy
    rng = numpy.random.RandomState(0)
    cfg = h.tiny_svhn_config()
    model = h.save(h.fixed_model(cfg), str(tmp / 'model.npz'), dataset='synthetic-svhn')
    for name, size in (('a.png', (40, 40)), ('b.png', (30, 20)), ('dot.png', (1, 1)),
                       ('two.png', (2, 2)), ('line.png', (60, 1))):
        h.pattern_image(rng, size).save(str(tmp / name))
    rows = [('a.png', ['12']), ('b.png', ['3']), ('dot.png', ['4']), ('two.png', ['56'])]
    h.write_words_gt(str(tmp / 'gt.tsv'), rows, 2, 5, h.chars_of(cfg))
    h.write_words_gt(str(tmp / 'ok.tsv'), rows[:2], 2, 5, h.chars_of(cfg))
    return tmp, model


def _run(*args):
    r = subprocess.run([sys.executable] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    return r.returncode, r.stdout, r.stderr.splitlines()


def _one_line(capsys):
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    return err[0]


# ------------------------------------------------------------ 1. damaged model files
def test_model_cut_in_half_is_one_line_from_every_command(files, tmp_path):
    tmp, _ = files
    path, _ = _damaged(tmp_path, 'half')
    for cmd in (['evaluate.py', path, '--gt', str(tmp / 'ok.tsv')],
                ['predict.py', path, str(tmp / 'a.png'), '--out', str(tmp_path / 'pred')],
                ['-m', 'chainer_see.evaluation.visual_backprop', path, str(tmp / 'a.png'),
                 '--out', str(tmp_path / 'heat.png')]):
        rc, out, err = _run(*cmd)
        assert rc == 2 and err == ['error: %s: truncated or damaged .npz model file (File is '
                                   'not a zip file)' % path], (cmd, err)
    assert sorted(os.listdir(str(tmp_path))) == ['half.npz']     # nothing written


@pytest.mark.parametrize('kind', DAMAGES)
def test_every_kind_of_damage_exits_2_with_one_line(files, tmp_path, capsys, kind):
    tmp, _ = files
    path, want = _damaged(tmp_path, kind)
    before = sorted(os.listdir(str(tmp_path)))
    assert ev_mod.main([path, '--gt', str(tmp / 'ok.tsv'), '--out', str(tmp_path / 'r')],
                       stdout=io.StringIO()) == 2
    assert _one_line(capsys).startswith('error: %s: ' % path)
    assert pr.main([path, str(tmp / 'a.png'), '--out', str(tmp_path / 'p')],
                   stdout=io.StringIO()) == 2
    assert _one_line(capsys).startswith('error: %s: ' % path)
    assert visual_backprop.main([path, str(tmp / 'a.png'), '--out',
                                 str(tmp_path / 'h.png')]) == 2
    assert _one_line(capsys).startswith('error: %s: ' % path)
    assert sorted(os.listdir(str(tmp_path))) == before


# ------------------------------------------------------------ 2. --out is a file
@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if the model is even opened."""
    def refuse(*a, **k):
        raise AssertionError('the model was opened before --out was checked')
    monkeypatch.setattr(inference, 'open_model', refuse)


@pytest.mark.parametrize('where', ['file', 'below-file', 'report-is-folder'])
def test_evaluate_out_that_cannot_be_a_folder_stops_before_any_work(files, tmp_path, capsys,
                                                                     no_work, where):
    tmp, model = files
    (tmp_path / 'taken').write_text('keep me')
    out = {'file': tmp_path / 'taken', 'below-file': tmp_path / 'taken' / 'eval',
           'report-is-folder': tmp_path / 'eval'}[where]
    if where == 'report-is-folder':
        os.makedirs(str(out / 'report.json'))
    assert ev_mod.main([model, '--gt', str(tmp / 'ok.tsv'), '--out', str(out)],
                       stdout=io.StringIO()) == 2
    line = _one_line(capsys)
    assert line.startswith('error: --out %s: ' % out)
    assert {'file': 'exists and is not a folder', 'below-file': '%s is a file, not a folder'
            % (tmp_path / 'taken'), 'report-is-folder': 'report.json in it is a folder'}[where] \
        in line
    assert (tmp_path / 'taken').read_text() == 'keep me'


def test_evaluate_out_file_as_a_user_runs_it(files, tmp_path):
    tmp, model = files
    (tmp_path / 'taken').write_text('keep me')
    rc, out, err = _run('evaluate.py', model, '--gt', str(tmp / 'ok.tsv'), '--out',
                        str(tmp_path / 'taken'))
    assert rc == 2 and out == ''               # not even the model line: nothing was done
    assert err == ['error: --out %s: exists and is not a folder (pass a folder, or a path '
                   'that does not exist yet)' % (tmp_path / 'taken')]


def test_predict_out_file_stops_before_any_work_unless_nothing_is_drawn(files, tmp_path,
                                                                         capsys, monkeypatch):
    tmp, model = files
    (tmp_path / 'taken').write_text('keep me')
    with monkeypatch.context() as m:
        m.setattr(inference, 'open_model', lambda *a: (_ for _ in ()).throw(AssertionError()))
        assert pr.main([model, str(tmp / 'a.png'), '--out', str(tmp_path / 'taken')],
                       stdout=io.StringIO()) == 2
    assert _one_line(capsys) == ('error: --out %s: exists and is not a folder (pass a folder, '
                                 'or a path that does not exist yet)' % (tmp_path / 'taken'))
    assert (tmp_path / 'taken').read_text() == 'keep me'
    # --no-draw writes nothing there, so --out does not matter
    assert pr.main([model, str(tmp / 'a.png'), '--out', str(tmp_path / 'taken'), '--no-draw'],
                   stdout=io.StringIO()) == 0


# ------------------------------------------------------------ 3. images too small
def test_too_small_image_names_the_gt_file_line_and_image(files, tmp_path, capsys):
    tmp, model = files
    out = tmp_path / 'r'
    assert ev_mod.main([model, '--gt', str(tmp / 'gt.tsv'), '--no-progress', '--out',
                        str(out)], stdout=io.StringIO()) == 2
    assert _one_line(capsys) == ('error: %s:4: image of 1x1 pixels is too small to read (each '
                                 'side needs at least 3 pixels): dot.png' % (tmp / 'gt.tsv'))
    assert not out.exists()
    buf = io.StringIO()
    assert ev_mod.main([model, '--gt', str(tmp / 'gt.tsv'), '--no-progress', '--skip-bad'],
                       stdout=buf) == 0
    err = capsys.readouterr().err
    assert 'skipped: %s:5: image of 2x2 pixels is too small' % (tmp / 'gt.tsv') in err
    assert 'images             2 (2 skipped as unreadable)' in buf.getvalue()


def test_too_small_image_through_predict(files, tmp_path, capsys):
    tmp, model = files
    out = tmp_path / 'pred'
    rc, stdout, err = _run('predict.py', model, str(tmp / 'dot.png'), '--out', str(out))
    assert rc == 2 and stdout == ''
    assert err == ['%s: image of 1x1 pixels is too small to read (each side needs at least 3 '
                   'pixels)' % (tmp / 'dot.png')]
    assert not out.exists()                    # no empty output folder either
    names = [str(tmp / n) for n in ('a.png', 'two.png', 'line.png')]
    assert pr.main([model] + names + ['--out', str(out)], stdout=io.StringIO()) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ['%s: image of 2x2 pixels is too small to read (each side needs at least 3 '
                   'pixels)' % names[1],
                   '%s: image of 60x1 pixels is too small to read (each side needs at least 3 '
                   'pixels)' % names[2],
                   '2 of 3 images could not be read']
    assert os.listdir(str(out)) == ['a.see.png']
    # an in-memory image too small is reported, not raised
    p, = pr.predict(h.fixed_model(h.tiny_svhn_config()), [Image.new('RGB', (2, 9))])
    assert p.path == '<image 0>' and 'image of 2x9 pixels is too small' in p.error

"""export.py and predict.py --backend onnxruntime: the .onnx file alone reads the same
words, boxes and pictures as the Chainer model file; bad input is one line, exit 2."""
import io
import json
import os
import subprocess
import sys

import numpy
import pytest
from PIL import Image

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from chainer_see import export  # noqa: E402
from chainer_see import zoo  # noqa: E402
from chainer_see.data.synthetic import SyntheticDataset  # noqa: E402
from chainer_see.evaluation import predict as pr  # noqa: E402
from chainer_see.export import cli  # noqa: E402

from tests.evaluation import helpers as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """A svhn-like model file (weights varied: words differ between images, some slots
    empty), a fsns-like one (ResNet-18 reader: quicker than ResNet-152), and test
    images: rendered house numbers of several sizes, a grey one, four-view signs and a
    single sign photo."""
    tmp = tmp_path_factory.mktemp('export_cli')
    svhn = h.save(h.fixed_model(h.tiny_svhn_config()), str(tmp / 'svhn.npz'),
                  dataset='synthetic-svhn')
    fsns_model = h.fixed_model(h.tiny_fsns_config().replace(backbone='resnet18'), varied=False)
    fsns = h.save(fsns_model, str(tmp / 'fsns.npz'))
    images = []
    crops = SyntheticDataset('svhn-crops', 4, seed=11)
    for i, size in enumerate([(64, 64), (50, 80), (120, 90), (40, 40)]):
        img = Image.fromarray(crops.render(i).image).resize(size, Image.BILINEAR)
        images.append(str(tmp / ('house%d.png' % i)))
        (img.convert('L') if i == 3 else img).save(images[-1])
    signs = []
    fsns_like = SyntheticDataset('fsns-like', 2, seed=3)
    for i in range(2):
        signs.append(str(tmp / ('sign%d.png' % i)))
        Image.fromarray(fsns_like.render(i).image).save(signs[-1])
    signs.append(str(tmp / 'photo.png'))
    Image.fromarray(fsns_like.render(0).image[:, :150]).save(signs[-1])   # one view
    return {'svhn': svhn, 'fsns': fsns, 'images': images, 'signs': signs, 'tmp': tmp}


def run_export(argv):
    buf = io.StringIO()
    return cli.main(argv, stdout=buf), buf.getvalue()


def run_predict(argv):
    buf = io.StringIO()
    rc = pr.main(argv + ['--json'], stdout=buf)
    return rc, json.loads(buf.getvalue())


@pytest.mark.parametrize('name,images', [('svhn', 'images'), ('fsns', 'signs')])
def test_predict_onnxruntime_reads_what_chainer_reads(files, tmp_path, name, images):
    onnx_path = str(tmp_path / 'only' / (name + '.onnx'))
    rc, out = run_export([files[name], onnx_path])
    assert rc == 0 and out.startswith('wrote %s' % onnx_path)
    assert 'onnxruntime = Chainer to' in out
    imgs = files[images]
    rc1, want = run_predict([files[name]] + imgs + ['--out', str(tmp_path / 'chainer')])
    rc2, got = run_predict(['--backend', 'onnxruntime', onnx_path] + imgs +
                           ['--out', str(tmp_path / 'onnx'), '--batch-size', '3'])
    assert rc1 == rc2 == 0
    assert [d['words'] for d in got] == [d['words'] for d in want]
    if name == 'svhn':    # the varied model reads different words in different images
        assert len({tuple(d['words']) for d in want}) > 1
    else:
        assert [d['repeated_into_views'] for d in got] == [False, False, True]
    for g, w in zip(got, want):
        numpy.testing.assert_allclose(g['boxes'], w['boxes'], atol=0.011)
        numpy.testing.assert_allclose(g['word_confidences'], w['word_confidences'], rtol=1e-4)
        a = numpy.asarray(Image.open(g['annotated']))
        b = numpy.asarray(Image.open(w['annotated']))
        numpy.testing.assert_array_equal(a, b)          # the same picture


def test_export_takes_a_zoo_name(files, tmp_path, monkeypatch):
    folder = tmp_path / 'models'
    folder.mkdir()
    os.link(files['svhn'], str(folder / 'tiny-svhn.npz'))
    monkeypatch.setattr(zoo, 'ZOO_DIR', str(folder))
    monkeypatch.chdir(tmp_path)
    rc, out = run_export(['tiny-svhn', 'tiny.onnx'])
    assert rc == 0 and os.path.isfile('tiny.onnx')
    assert export.OnnxSEE('tiny.onnx').metadata['dataset'] == 'synthetic-svhn'


def test_crops_on_request_and_unverified_export(files, tmp_path):
    path = str(tmp_path / 'c.onnx')
    rc, out = run_export([files['svhn'], path, '--crops', '--no-verify'])
    assert rc == 0 and 'crops (B, 2, 3, 36, 36)' in out and 'onnxruntime =' not in out
    assert export.OnnxSEE(path).outputs == ['logits', 'boxes', 'grids', 'crops']


@pytest.mark.parametrize('case', ['missing model', 'output in a file', 'output is a folder',
                                  'unknown zoo name', 'onnx ran away'])
def test_bad_input_is_one_line_and_exit_2(files, tmp_path, capsys, monkeypatch, case):
    (tmp_path / 'a_file').write_text('x')
    model, out = files['svhn'], str(tmp_path / 'm.onnx')
    expect = {'missing model': 'no such model file', 'output in a file': 'cannot be written',
              'output is a folder': 'is a folder', 'unknown zoo name': 'model zoo',
              'onnx ran away': 'pip install -e .[export]'}[case]
    if case == 'missing model':
        model = str(tmp_path / 'nothing.npz')
    elif case == 'output in a file':
        out = str(tmp_path / 'a_file' / 'm.onnx')
    elif case == 'output is a folder':
        out = str(tmp_path)
    elif case == 'unknown zoo name':
        monkeypatch.setattr(zoo, 'ZOO_DIR', str(tmp_path / 'no_zoo'))
        model = 'no-such-model'
    else:
        monkeypatch.setitem(sys.modules, 'onnx', None)      # import onnx -> ImportError
    rc, _ = run_export([model, out])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and expect in err[0], err
    assert sorted(os.listdir(str(tmp_path))) == ['a_file']


def test_a_mismatch_writes_nothing_and_exits_1(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export, 'verify', lambda *a, **k: {'logits': 0.5, 'boxes': 0.0})
    rc, _ = run_export([files['svhn'], str(tmp_path / 'm.onnx')])
    assert rc == 1 and 'nothing written' in capsys.readouterr().err
    assert os.listdir(str(tmp_path)) == []


def test_predict_refuses_the_wrong_kind_of_file(files, tmp_path, capsys):
    onnx_path = str(tmp_path / 'm.onnx')
    assert run_export([files['svhn'], onnx_path])[0] == 0
    img = files['images'][0]
    assert pr.main([onnx_path, img, '--no-draw']) == 2
    assert 'read it with --backend onnxruntime' in capsys.readouterr().err
    assert pr.main(['--backend', 'onnxruntime', files['svhn'], img, '--no-draw']) == 2
    assert 'not ONNX' in capsys.readouterr().err
    assert pr.main(['--backend', 'onnxruntime', str(tmp_path / 'x.onnx'), img]) == 2
    assert 'no such ONNX model file' in capsys.readouterr().err


def test_export_script_help():
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'export.py'), '--help'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'OUT.onnx' in r.stdout and '--no-verify' in r.stdout

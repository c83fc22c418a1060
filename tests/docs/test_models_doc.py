"""models/README.md's commands, on the committed zoo files: list them, evaluate one by
name (scaled down by --count), predict with it on a photo, export it to ONNX."""
import os

import pytest

from chainer_see import zoo
from tests.docs.runner import run_doc

pytestmark = pytest.mark.slow

LIST = 'python -m chainer_see.zoo list'
EVALUATE = 'python evaluate.py synthetic-svhn --count 1000'
PREDICT = 'python predict.py synthetic-svhn photo.jpg'
EXPORT = 'python export.py synthetic-svhn svhn.onnx'


@pytest.fixture
def committed():
    if 'synthetic-svhn' not in zoo.names():
        pytest.fail('models/synthetic-svhn.npz is named by models/README.md but missing')


def test_the_zoo_is_listed_and_a_model_called_by_name(committed, workdir, photo_source):
    cwd = workdir(photos=photo_source)
    out = run_doc(LIST, cwd).stdout
    for name in zoo.names():
        assert name in out and 'box labels: no' in out and 'layout prior: no' in out
    out = run_doc(EVALUATE, cwd).stdout
    assert 'sequence accuracy' in out and 'mean IoU' in out
    assert 'this model (synthetic-svhn' in out          # its row in Table 1
    out = run_doc(PREDICT, cwd).stdout
    assert out.startswith('photo.jpg') and os.listdir(str(cwd / 'predictions'))


def test_a_zoo_model_exports_to_onnx(committed, workdir):
    pytest.importorskip('onnxruntime')
    cwd = workdir()
    out = run_doc(EXPORT, cwd).stdout
    assert out.startswith('wrote svhn.onnx') and 'onnxruntime = Chainer' in out
    assert os.path.getsize(str(cwd / 'svhn.onnx')) > 1e6


@pytest.mark.parametrize('command', [
    'python evaluate.py synthetic-random128 --count 1000',
    'python evaluate.py synthetic-random128 --dataset synthetic-grid128 --count 1000'],
    ids=['own-set', 'grid'])
def test_the_random_zoo_model_is_evaluated_on_its_set_and_on_the_grid(workdir, command):
    """docs/results.md section 9: the model read on its own four-number test set and on
    the grid's, with the figures of each word position (each region)."""
    if 'synthetic-random128' not in zoo.names():
        pytest.fail('models/synthetic-random128.npz is named by docs/results.md but missing')
    out = run_doc(command, workdir()).stdout
    assert 'mean IoU' in out and '(32 word boxes, reading order)' in out
    for k in (1, 2, 3, 4):
        assert '  word %d ' % k in out
    assert '  word 5 ' not in out


@pytest.mark.parametrize('command, dataset', [
    ('python evaluate.py synthetic-grid128 --count 1000', 'synthetic-grid128'),
    ('python evaluate.py synthetic-grid128 --dataset synthetic-grid4 --count 1000',
     'synthetic-grid4')], ids=['own-set', 'other-2x2'])
def test_the_grid_zoo_model_is_evaluated_on_its_grid_and_on_other_2x2_images(
        workdir, command, dataset):
    """models/README.md and docs/results.md section 9: the grid model on its held-out grids
    and on the 200x200 grid of synthetic-grid4 (shrunk to its 128x128 input), every
    region reported."""
    if 'synthetic-grid128' not in zoo.names():
        pytest.fail('models/synthetic-grid128.npz is named by models/README.md but missing')
    out = run_doc(command, workdir()).stdout
    assert 'dataset  %s:' % dataset in out and '(32 word boxes, reading order)' in out
    for k in (1, 2, 3, 4):
        assert '  word %d ' % k in out

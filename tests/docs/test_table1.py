"""Table 1 (SVHN) as README.md and docs/reproduce.md give it, on SVHN "format 1" folders
(N.png + MATLAB v7.3 digitStruct.mat): convert, train, resume, evaluate, predict, the
published-layout weights; the train + extra recipe; the grid / random compositions that
the missing-data message names."""
import json
import os
import re

import pytest

from tests.docs import checks
from tests.docs.runner import run_args, run_doc
from tests.model.test_model_io import published_file

pytestmark = pytest.mark.slow

PREPARE_TRAIN = 'python datasets/svhn/prepare.py crops SVHN/train data/svhn/train'
PREPARE_TEST = 'python datasets/svhn/prepare.py crops SVHN/test data/svhn/test'


def _prepared(cwd, split, numbers):
    """``data/svhn/SPLIT``: images/, gt.tsv (``1<TAB>5``, the numbers of at most 5
    digits), gt.boxes.json with a box per image."""
    folder = os.path.join(str(cwd), 'data', 'svhn', split)
    n, t, rows = checks.read_words_gt(os.path.join(folder, 'gt.tsv'), 'svhn')
    assert (n, t) == (1, 5)
    want = sorted(num for _, num in numbers if len(num) <= 5)
    assert sorted(words[0] for _, words in rows) == want
    boxes = json.load(open(os.path.join(folder, 'gt.boxes.json')))
    assert set(boxes['images']) == {p for p, _ in rows}
    for path, _ in rows:
        assert os.path.exists(os.path.join(folder, path))
    return rows


def test_table1_convert_train_resume_evaluate_predict(workdir, svhn_source):
    cwd = workdir(svhn=svhn_source)
    numbers = svhn_source[1]
    run_doc(PREPARE_TRAIN, cwd)
    run_doc(PREPARE_TEST, cwd)
    _prepared(cwd, 'train', numbers['train'])
    test_rows = _prepared(cwd, 'test', numbers['test'])

    run_doc('python train.py --dataset svhn --data-dir data --gpus 0 --out runs/svhn '
            '--batch-size 32 --lr 1e-3 --weight-decay 5e-4 --clip 2 --iterations 20000', cwd)
    run = str(cwd / 'runs' / 'svhn')
    config, meta, _ = checks.check_run_folder(run, 2, 'svhn', true_boxes=True)
    assert meta['data_dir'] == os.path.join(str(cwd), 'data')
    assert config['optimizer']['weight_decay'] == 5e-4

    run_doc('python train.py --out runs/svhn --resume', cwd, extra=['--iterations', '4'])
    _, meta, log = checks.check_run_folder(run, 4, 'svhn', true_boxes=True)
    assert [e['iteration'] for e in log if 'main/loss' in e] == [2, 4]

    # "step 4 needs no other argument: it evaluates on data/svhn/test/gt.tsv"
    proc = run_doc('python evaluate.py runs/svhn/model.npz --gpu 0 --out runs/svhn/eval '
                   '--visualize 20', cwd)
    report = checks.check_report(os.path.join(run, 'eval'), len(test_rows), true_boxes=True,
                                 visualized=len(test_rows))
    assert report['dataset']['size'] == len(test_rows)
    assert '95.2' in proc.stdout, 'Table 1 (paper row 95.2 %) not printed'

    proc = run_doc('python evaluate.py runs/svhn/model.npz --dataset svhn --data-dir data '
                   '--gpu 0', cwd)
    assert '95.2' in proc.stdout
    # README's short recipe: its training is the run above (test_documented_commands.py
    # checks that the options are the same), its evaluation replaces runs/svhn/eval
    run_doc('python evaluate.py runs/svhn/model.npz --gpu 0 --out runs/svhn/eval', cwd)
    checks.check_report(os.path.join(run, 'eval'), len(test_rows), true_boxes=True)

    # weights in the published layout (a file without configuration)
    published_file(str(cwd / 'published_svhn.npz'), seed=1)
    proc = run_doc('python evaluate.py published_svhn.npz --preset svhn --dataset svhn', cwd)
    assert '95.2' in proc.stdout

    image = os.path.join('data', 'svhn', 'test', test_rows[0][0])
    proc = run_args('predict.py', ['runs/svhn/model.npz', image], cwd)
    checks.check_predictions(cwd, proc.stdout, [image])


def test_reproduce_train_plus_extra(workdir, svhn_source):
    cwd = workdir(svhn=svhn_source)
    numbers = svhn_source[1]
    run_doc(PREPARE_TRAIN, cwd)
    run_doc(PREPARE_TEST, cwd)
    run_doc('python datasets/svhn/prepare.py crops SVHN/extra data/svhn/extra', cwd)
    train = _prepared(cwd, 'train', numbers['train'])
    extra = _prepared(cwd, 'extra', numbers['extra'])
    test_rows = _prepared(cwd, 'test', numbers['test'])
    run_doc("{ head -n 1 data/svhn/train/gt.tsv\n"
            "tail -n +2 data/svhn/train/gt.tsv | sed 's|^|train/|'\n"
            "tail -n +2 data/svhn/extra/gt.tsv | sed 's|^|extra/|'; } > data/svhn/train+extra.tsv",
            cwd)
    joined = str(cwd / 'data' / 'svhn' / 'train+extra.tsv')
    _, _, rows = checks.read_words_gt(joined, 'svhn')
    assert rows == ([('train/' + p, w) for p, w in train] + [('extra/' + p, w) for p, w in extra])

    run_doc('python train.py --dataset data/svhn/train+extra.tsv --model svhn --gpus 0 '
            '--out runs/svhn-extra --batch-size 32 --lr 1e-3 --weight-decay 5e-4 --clip 2 '
            '--iterations 60000', cwd)
    checks.check_run_folder(str(cwd / 'runs' / 'svhn-extra'), 2, 'data/svhn/train+extra.tsv')
    proc = run_doc('python evaluate.py runs/svhn-extra/model.npz --dataset svhn --data-dir data '
                   '--gpu 0', cwd)
    assert '95.2' in proc.stdout
    # the figures are over the SVHN test crops, not over the training file
    images = re.search(r'^images\s+(\d+)$', proc.stdout, re.M)
    assert images and int(images.group(1)) == len(test_rows), proc.stdout


@pytest.mark.parametrize('preset', ['svhn-grid', 'svhn-random'])
def test_svhn_compositions_named_by_the_missing_data_message(workdir, svhn_source, preset):
    """README: "a missing file names the converter to run".  The converter commands the
    message names are run as printed, then the preset trains and evaluates."""
    cwd = workdir(svhn=svhn_source)
    run_doc(PREPARE_TRAIN, cwd)
    run_doc(PREPARE_TEST, cwd)
    proc = run_args('train.py', ['--dataset', preset, '--data-dir', 'data'], cwd, expect=2)
    named = re.findall(r'python datasets/svhn/prepare\.py (?:grid|random) \S+ \S+',
                       proc.stderr)
    assert len(named) == 2, 'the message names no converter:\n' + proc.stderr
    for text in named:
        # 8 composed images are plenty here (the default is 1,000)
        run_args(text.split()[1], text.split()[2:], cwd, extra=['--count', '8'])
    run_args('train.py', ['--dataset', preset, '--data-dir', 'data', '--out', 'runs/' + preset],
             cwd)
    checks.check_run_folder(str(cwd / 'runs' / preset), 2, preset, true_boxes=True)
    proc = run_args('evaluate.py', ['runs/%s/model.npz' % preset, '--out', 'eval'], cwd)
    checks.check_report(str(cwd / 'eval'), 8, true_boxes=True)

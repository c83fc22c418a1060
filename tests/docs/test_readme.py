"""README.md's own commands: the main command and what it writes (the "What lands in
--out" table, read from README itself), ``--help``, evaluate, predict on a photo and a
scan, VisualBackprop, the synthetic generator; and the synthetic analogues at the end
of docs/reproduce.md."""
import glob
import json
import os
import re

import pytest
from PIL import Image

from tests.docs import checks
from tests.docs.commands import read_document
from tests.docs.runner import FSNS_SMALL, run_doc

pytestmark = pytest.mark.slow


#: files README's table says are written only under a condition the main command does
#: not meet: name -> the words of its row that say so
ONLY_WHEN = {'lr.png': 'only once it changes'}


def out_table():
    """The files and log keys README's "What lands in `--out`" table promises:
    ``(file globs, log keys)``; ``next_level`` (made by the user) left out, the files of
    :data:`ONLY_WHEN` too (their rows must still say so)."""
    text = read_document('README.md')
    start = text.index('### What lands in `--out`')
    rows = [line for line in text[start:].split('\n\n')[1].split('\n') if line.startswith('| `')]
    files, keys = [], []
    for row in rows:
        cells = row.split('|')
        for name in re.findall(r'`([^`]+)`', cells[1]):
            if name in ONLY_WHEN:
                assert ONLY_WHEN[name] in cells[2], 'README: %s is written %s' % (name, cells[2])
            elif name != 'next_level':
                files.append(re.sub(r'X+', '*', name))
        if '`log`' in cells[1]:
            keys = re.findall(r'`([a-z_/*]+)`', cells[2])
    assert files and keys, 'README has no "What lands in --out" table any more'
    return files, keys


def test_main_command_writes_what_readme_lists_then_evaluate_predict_heatmaps(workdir,
                                                                              photo_source):
    cwd = workdir(photos=photo_source)
    run_doc('python train.py', cwd, doc='README.md')
    files, keys = out_table()
    for pattern in files:
        assert glob.glob(str(cwd / 'result' / pattern)), 'README lists %s; not written' % pattern
    for name in ONLY_WHEN:   # the default learning rate is constant
        assert not os.path.exists(str(cwd / 'result' / name)), name
    log = json.load(open(str(cwd / 'result' / 'log')))
    last = log[-1]
    for key in keys:
        if key.endswith('*'):
            assert any(k.startswith(key[:-1]) for k in last), 'no %s in the log' % key
        else:
            assert key in last, 'README lists %s in the log; not there: %s' % (key, sorted(last))
    checks.check_run_folder(str(cwd / 'result'), 2, 'synthetic-svhn', true_boxes=True)

    proc = run_doc('python train.py --help', cwd)
    assert '--dataset' in proc.stdout and 'default' in proc.stdout

    proc = run_doc('python evaluate.py result/model.npz', cwd)
    assert 'sequence' in proc.stdout.lower()
    run_doc('python evaluate.py result/model.npz --count 1000 --out result/eval --visualize 16',
            cwd)
    checks.check_report(str(cwd / 'result' / 'eval'), 8, true_boxes=True, visualized=8)

    proc = run_doc('python predict.py result/model.npz photo.jpg scan.png', cwd)
    checks.check_predictions(cwd, proc.stdout, ['photo.jpg', 'scan.png'])

    run_doc('python -m chainer_see.evaluation.visual_backprop result/model.npz house.png '
            '--out heat.png', cwd)
    assert Image.open(str(cwd / 'heat.png')).size[0] > 0


def test_ctc_reader_commands_train_then_read_under_a_lexicon(workdir, photo_source):
    cwd = workdir(photos=photo_source)
    run_doc('python train.py --head ctc --out runs/ctc', cwd, doc='README.md')
    config = json.load(open(str(cwd / 'runs' / 'ctc' / 'config.json')))
    assert config['model']['head'] == 'ctc'
    (cwd / 'words.txt').write_text('1\n22\n333\n')
    proc = run_doc('python predict.py runs/ctc/model.npz house.png --lexicon words.txt', cwd)
    # every word read (after two iterations: maybe none) is a lexicon word or stays
    assert 'house.png' in proc.stdout and 'text:' in proc.stdout


@pytest.mark.parametrize('text,header', [
    ('python datasets/synthetic/generate.py --kind svhn-crops --count 1000 --out data/syn-crops',
     (1, 5)),
    ('python datasets/synthetic/generate.py --kind svhn-random --max-numbers 4 --count 1000 '
     '--out data/syn-random', (4, 5)),
    ('python datasets/synthetic/generate.py --kind fsns-like --count 100 --out data/syn-fsns',
     (4, None)),
], ids=['svhn-crops', 'svhn-random', 'fsns-like'])
def test_synthetic_generator(workdir, text, header):
    cwd = workdir()
    run_doc(text, cwd)
    out = str(cwd / text.split('--out ')[1])
    images = sorted(os.listdir(os.path.join(out, 'images')))
    assert len(images) == 8 and all(i.endswith('.png') for i in images)
    char_map = 'fsns' if 'fsns' in text else 'svhn'
    n, t, rows = checks.read_words_gt(os.path.join(out, 'gt.tsv'), char_map)
    assert n == header[0] and (header[1] is None or t == header[1])
    assert len(rows) == 8 and all(words for _, words in rows)
    boxes = json.load(open(os.path.join(out, 'gt.boxes.json')))
    assert set(boxes['images']) == {p for p, _ in rows}
    json.load(open(os.path.join(out, 'dataset.json')))


def test_reproduce_synthetic_analogues(workdir):
    cwd = workdir()
    run_doc('python train.py --dataset synthetic-svhn --out runs/synthetic-svhn', cwd)
    checks.check_run_folder(str(cwd / 'runs' / 'synthetic-svhn'), 2, 'synthetic-svhn',
                            true_boxes=True)
    proc = run_doc('python evaluate.py runs/synthetic-svhn/model.npz '
                   '--out runs/synthetic-svhn/eval --visualize 8', cwd)
    checks.check_report(str(cwd / 'runs' / 'synthetic-svhn' / 'eval'), 8, true_boxes=True,
                        visualized=8)
    assert 'synthetic' in proc.stdout.lower()   # "evaluate.py marks them so in the table"

    run_doc('python train.py --dataset synthetic-fsns --out runs/synthetic-fsns', cwd,
            extra=FSNS_SMALL)
    checks.check_run_folder(str(cwd / 'runs' / 'synthetic-fsns'), 2, 'synthetic-fsns')
    proc = run_doc('python evaluate.py runs/synthetic-fsns/model.npz --count 500', cwd)
    assert '78.0' in proc.stdout and 'synthetic' in proc.stdout.lower()

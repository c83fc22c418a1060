"""A user's own ground truth, in every layout the project reads (README: ``--dataset`` "or a
ground-truth file / curriculum JSON"): ``train.py --dataset FILE`` -> ``evaluate.py
--dataset FILE`` -> ``predict.py``, with and without ``--model`` and ``--char-map``; and a
curriculum whose levels have images of different sizes."""
import csv
import glob
import json
import os
import re

import pytest

from tests.docs import checks
from tests.docs.runner import FSNS_SMALL, run_args, run_doc

pytestmark = pytest.mark.slow

#: (test id, ground-truth file, extra train.py options, model preset the run must use,
#:  rows of the fixture description, true boxes known)
CASES = [
    ('words-format', 'own/numbers.tsv', [], 'svhn', 'numbers', False),
    ('words-format+boxes, --model svhn-grid', 'own/numbers_boxed.tsv',
     ['--model', 'svhn-grid'], 'svhn-grid', 'numbers', True),
    ('text-variant, --char-map svhn --model svhn', 'own/numbers_text.txt',
     ['--char-map', 'svhn', '--model', 'svhn'], 'svhn', 'numbers', False),
    ('readable+boxes', 'own/scenes.txt', [], 'svhn-grid', 'scenes', True),
    ('readable letters, --char-map fsns', 'own/signs.txt', ['--char-map', 'fsns'], 'svhn-grid',
     'signs', False),
    ('text-variant with spaces, --char-map fsns --model svhn', 'own/signs_text.txt',
     ['--char-map', 'fsns', '--model', 'svhn'], 'svhn', 'signs', False),
    ('words-format with FSNS ids, --char-map fsns', 'own/signs_fsns.tsv',
     ['--char-map', 'fsns'], 'svhn-grid', 'signs', False),
    ('words-format, own char map --char-map FILE.json', 'own/signs_own.tsv',
     ['--char-map', 'own/chars.json'], 'svhn-grid', 'signs', False),
    # the char map of --model's preset
    ('readable multi-view+boxes (views 4), --model fsns', 'own/multiview.txt',
     ['--model', 'fsns'], 'fsns', 'multiview', True),
]


def _label_words(row):
    return [w for w in json.loads(row['label_words']) if w]


@pytest.mark.parametrize('gt,options,model,rows,boxes', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_own_ground_truth_train_evaluate_predict(workdir, own_source, gt, options, model, rows,
                                                 boxes):
    cwd = workdir(own=own_source)
    truth = own_source[1][rows]['rows']
    extra = FSNS_SMALL if model == 'fsns' else []
    run_args('train.py', ['--dataset', gt, '--out', 'runs/own'] + options, cwd, extra=extra)
    out = str(cwd / 'runs' / 'own')
    _, meta, _ = checks.check_run_folder(out, 2, gt, true_boxes=boxes)
    assert meta['model_preset'] == model, meta

    # evaluate.py on the file: the model carries its char map, the labels read back as
    # the words written into the file
    run_args('evaluate.py', ['runs/own/model.npz', '--dataset', gt, '--out', 'eval'], cwd)
    report = checks.check_report(str(cwd / 'eval'), len(truth), true_boxes=boxes)
    assert report['model']['num_classes'] == _classes(options, model, own_source[0])
    with open(str(cwd / 'eval' / 'predictions.csv'), newline='', encoding='utf-8') as f:
        got = {os.path.normpath(r['path']): _label_words(r) for r in csv.DictReader(f)}
    if open(str(cwd / gt), encoding='utf-8').readline().rstrip('\n').endswith('\t1'):
        truth = [(rel, [' '.join(words)]) for rel, words in truth]   # one slot: the text
    want = {os.path.normpath(os.path.join(str(cwd), 'own', rel)): words for rel, words in truth}
    assert _by_name(got) == _by_name(want)

    image = os.path.join('own', truth[0][0])
    proc = run_args('predict.py', ['runs/own/model.npz', image], cwd)
    checks.check_predictions(cwd, proc.stdout, [image])


def _by_name(d):
    """Paths may be written relative or absolute: compare by the last two parts."""
    return {os.path.join(*p.split(os.sep)[-2:]): v for p, v in d.items()}


def _classes(options, model, own_root):
    char_map = options[options.index('--char-map') + 1] if '--char-map' in options else (
        'fsns' if model == 'fsns' else 'svhn')
    if char_map.endswith('.json'):
        return len(json.load(open(os.path.join(own_root, os.path.basename(char_map)))))
    return {'svhn': 11, 'fsns': 134}[char_map]


@pytest.mark.parametrize('force', ['curriculum-window-1', 'next_level-file'])
def test_curriculum_of_two_image_sizes_switches_or_stops_before_training(workdir, own_source,
                                                                           force):
    """Level 1: single numbers on 64x64 crops; level 2: ~200x200 scenes of up to three
    numbers.  The run must either train through the level switch or refuse at start-up
    (exit 2, one line naming the level's file, before iteration 1: README "a level that
    does not fit stops the run before its first iteration, naming the level and file");
    it must not die at the switch."""
    cwd = workdir(own=own_source)
    out = str(cwd / 'runs' / 'cur')
    args = ['--dataset', 'own/curriculum.json', '--out', 'runs/cur']
    if force == 'curriculum-window-1':
        # a window of one validation is always settled: the switch comes at iteration 2
        proc = run_args('train.py', args + ['--curriculum-window', '1'], cwd, expect=None,
                        extra=['--iterations', '4'])
    else:
        proc = run_args('train.py', args, cwd, expect=None)
        if proc.returncode == 0:
            checks.check_run_folder(out, 2)
            with open(os.path.join(out, 'next_level'), 'w'):
                pass
            proc = run_args('train.py', ['--out', 'runs/cur', '--resume'], cwd, expect=None,
                            extra=['--iterations', '4'])
    if proc.returncode == 2:
        lines = proc.stderr.strip().split('\n')
        assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr
        assert 'level2_' in lines[0], 'the message names no level file: ' + lines[0]
        assert not glob.glob(os.path.join(out, 'snapshot_*')), 'exit 2 after training began'
        return
    assert proc.returncode == 0, 'died with exit status %d:\n%s' % (
        proc.returncode, '\n'.join(proc.stderr.strip().split('\n')[-15:]))
    _, meta, log = checks.check_run_folder(out, 4)
    assert meta['level'] == 1, meta
    assert [e['level'] for e in log if 'main/loss' in e][-1] == 1


def test_readme_your_own_data_file_then_evaluate_on_a_held_out_file(workdir, own_source):
    """README "your own data": a ground-truth file, the model from the data, evaluate.py
    on another file."""
    cwd = workdir(own=own_source, own_name='my_data')
    run_doc('python train.py --dataset my_data/gt.tsv --out runs/mine', cwd)
    _, meta, _ = checks.check_run_folder(str(cwd / 'runs' / 'mine'), 2, 'my_data/gt.tsv')
    assert meta['model_preset'] == 'svhn'
    proc = run_doc('python evaluate.py runs/mine/model.npz --dataset my_data/test.tsv', cwd)
    images = re.search(r'^images\s+(\d+)$', proc.stdout, re.M)
    assert images and int(images.group(1)) == 3, proc.stdout   # the rows of test.tsv


def test_readme_your_own_curriculum_with_model_goes_through_the_switch(workdir, own_source):
    """README "your own data": a curriculum JSON with --model (every image resized to the
    preset's input), its two levels of different image sizes; a window of one
    validation forces the switch at iteration 2."""
    cwd = workdir(own=own_source, own_name='my_data')
    run_doc('python train.py --dataset my_data/curriculum.json --model svhn-grid '
            '--out runs/mine-grid', cwd, extra=['--curriculum-window', '1', '--iterations', '4'])
    _, meta, log = checks.check_run_folder(str(cwd / 'runs' / 'mine-grid'), 4,
                                           'my_data/curriculum.json')
    assert meta['level'] == 1 and meta['model_preset'] == 'svhn-grid', meta
    assert [e['level'] for e in log if 'main/loss' in e][-1] == 1

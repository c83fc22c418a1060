"""What each documented step is documented to produce (README "What lands in --out",
"Evaluation and prediction", the converters' docstrings), checked after it ran."""
import csv
import glob
import json
import math
import os

from tests.docs import fixtures

#: README: ``--out DIR`` writes report.json with these keys
REPORT_KEYS = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'edit_distance',
               'mean_iou', 'iou50')


def read_words_gt(path, char_map):
    """A ground-truth file in the published format -> ``(N, T, [(path, [words])])``,
    decoded with ``datasets/char_maps/CHAR_MAP_char_map.json`` (independent reader)."""
    chars = fixtures.char_map_json(char_map)
    with open(path, encoding='utf-8') as f:
        lines = f.read().rstrip('\n').split('\n')
    n, t = (int(v) for v in lines[0].split('\t'))
    rows = []
    for no, line in enumerate(lines[1:], 2):
        fields = line.split('\t')
        assert len(fields) == 1 + n * t, '%s:%d: %d fields, header says 1+%d' % (
            path, no, len(fields), n * t)
        ids = [int(v) for v in fields[1:]]
        words = [''.join(chars[i] for i in ids[k * t:(k + 1) * t] if i != 0) for k in range(n)]
        rows.append((fields[0], [w for w in words if w]))
    return n, t, rows


def check_run_folder(out, iterations, dataset=None, true_boxes=False):
    """A finished ``train.py`` run in ``out``: the files of README's table, ``model.npz``
    at ``iterations`` with its dataset, a finite log.  Returns ``(config, metadata, log)``."""
    from chainer_see import read_model_info
    names = set(os.listdir(out))
    # lr.png and the rest of README's table: test_readme.py (the main command)
    want = {'config.json', 'log', 'loss.png', 'accuracy.png', 'model.npz', 'boxes'}
    if true_boxes:
        want.add('iou.png')
    assert want <= names, 'missing in %s: %s' % (out, sorted(want - names))
    assert glob.glob(os.path.join(out, 'snapshot_iter_*.npz')), 'no snapshot in %s' % out
    assert glob.glob(os.path.join(out, 'boxes', 'iter_*.png')), 'no box pictures in %s' % out
    config = json.load(open(os.path.join(out, 'config.json')))
    log = json.load(open(os.path.join(out, 'log')))
    assert log, 'empty log in %s' % out
    assert log[-1]['iteration'] <= iterations
    losses = [e['main/loss'] for e in log if 'main/loss' in e]
    assert losses and all(math.isfinite(v) for v in losses), 'no finite main/loss in the log'
    assert any('validation/main/loss' in e for e in log), 'no validation in %s' % out
    if true_boxes:
        ious = [e['validation/main/iou'] for e in log if 'validation/main/iou' in e]
        assert ious and all(0 <= v <= 1 for v in ious)
    cfg, meta, fmt = read_model_info(os.path.join(out, 'model.npz'))
    assert cfg is not None
    assert meta['iteration'] == iterations, meta
    if dataset is not None:
        # a path is recorded absolute
        assert meta['dataset'] == dataset or meta['dataset'].endswith(os.sep + dataset), meta
    return config, meta, log


def check_report(folder, images, true_boxes=False, visualized=0):
    """``evaluate.py --out folder``: report.json (README keys), predictions.csv with one
    row per evaluated image, ``visualized`` annotated images.  Returns the report."""
    report = json.load(open(os.path.join(folder, 'report.json')))
    for key in REPORT_KEYS:
        assert key in report, 'report.json lacks %r' % key
    for key in ('sequence_accuracy', 'word_accuracy', 'char_accuracy'):
        assert 0 <= report[key] <= 1
    assert report['edit_distance'] >= 0
    if true_boxes:
        assert report['mean_iou'] is not None and 0 <= report['mean_iou'] <= 1
    with open(os.path.join(folder, 'predictions.csv'), newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == images, '%d rows in predictions.csv, %d images' % (len(rows), images)
    for row in rows:
        assert row['path'] and row['confidence']
        json.loads(row['boxes'])
    if visualized:
        pictures = os.listdir(os.path.join(folder, 'visualizations'))
        assert len(pictures) == visualized, pictures
    return report


def check_predictions(cwd, stdout, images, folder='predictions'):
    """``predict.py``: one annotated ``NAME.see.png`` per image, a line per image."""
    for image in images:
        stem = os.path.splitext(os.path.basename(image))[0]
        assert glob.glob(os.path.join(str(cwd), folder, stem + '*.see.png')), \
            'no annotated copy of %s in %s' % (image, folder)
        assert os.path.basename(image) in stdout, 'nothing printed for %s' % image

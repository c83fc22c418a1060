"""evaluate.py on tiny generated sets: the printed figures and report.json against figures
computed independently here (model run image by image, decoding and metrics by hand)."""
import csv
import io
import json
import os

import numpy
import pytest

from chainer_see.data import presets
from chainer_see.evaluation import evaluate as ev_mod
from chainer_see.evaluation import inference

from tests.evaluation import helpers as h

KEYS = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'edit_distance', 'mean_iou',
        'iou50')
PRINTED = {'sequence_accuracy': 'sequence accuracy', 'word_accuracy': 'word accuracy',
           'char_accuracy': 'char accuracy', 'edit_distance': 'edit distance',
           'mean_iou': 'mean IoU', 'iou50': 'IoU >= 0.5'}
PERCENT = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'iou50')


def printed_figures(text):
    """{key: float or None} parsed from evaluate's printed lines."""
    out = {}
    for line in text.splitlines():
        for key, label in PRINTED.items():
            if line.startswith(label + ' ') and line[len(label):len(label) + 2] == '  ':
                value = line[len(label):].split()[0]
                if value == 'n/a':
                    out[key] = None
                else:
                    out[key] = float(value) / (100.0 if key in PERCENT else 1.0)
    return out


def check_figures(got, want, printed):
    for k in KEYS:
        if want[k] is None:
            assert got[k] is None and printed[k] is None, k
            continue
        assert got[k] == pytest.approx(want[k], abs=1e-5), k
        assert printed[k] == pytest.approx(want[k], abs=5.1e-5), k   # printed rounded


def mutate(word):
    """The word with its first character changed (another digit)."""
    return ('1' if word[0] != '1' else '2') + word[1:]


@pytest.fixture(scope='module')
def gt_set(tmp_path_factory):
    """A model with fixed weights (2 word slots x 5 chars, 40x40 input), saved with its
    metadata, and a ground-truth file of 7 images of other sizes, with 3 word slots x 6
    chars and true boxes; labels made from the model's own reading so that some images
    are right, some have a wrong character, a missing or extra word."""
    tmp = tmp_path_factory.mktemp('evaluate')
    cfg = h.tiny_svhn_config()
    model = h.fixed_model(cfg)
    chars = h.chars_of(cfg)
    rng = numpy.random.RandomState(7)
    sizes = [(48, 44), (40, 40), (60, 30), (33, 50), (48, 44), (41, 39), (52, 52)]
    rows, entries, preds, truths, ious, confs, pboxes = [], [], [], [], [], [], []
    for k, (W, H) in enumerate(sizes):
        rel = 'images/img%d.png' % k
        os.makedirs(str(tmp / 'images'), exist_ok=True)
        h.pattern_image(rng, (W, H)).save(str(tmp / rel))
        logits, boxes = h.run_one(model, h.load_as_model_input(str(tmp / rel), cfg))
        pred = h.decode_plain(logits, chars)
        t0, t1 = pred[0] or '9', pred[1]
        if k % 3 == 0:
            truth = [t0, t1]
        elif k % 3 == 1:
            truth = [mutate(t0), '']
        else:
            truth = [t0 + '5' if len(t0) < 5 else t0[:-1] + '555', t1 or '12']
        if k == 5:
            truth = [t0, t1 or '3', '770']       # a third word: the model has no 3rd region
        words = [w for w in truth if w]
        assert words == truth[:len(words)]         # words fill the first slots
        true_boxes = []
        for j in range(len(words)):
            if k % 2 == 0 and j < 2:               # the predicted box, in the image's pixels
                b = boxes[j]
                sx, sy = W / 40.0, H / 40.0
                tb = [(b[0] + 0.5) * sx - 0.5, (b[1] + 0.5) * sy - 0.5,
                      (b[2] + 0.5) * sx - 0.5, (b[3] + 0.5) * sy - 0.5]
            else:
                tb = [1.0 + j, 2.0, 15.5 + j, 20.0]
            true_boxes.append(tb)
            in_model = h.to_model_pixels(tb, (W, H), (40, 40))
            ious.append(h.iou_plain(boxes[j], in_model) if j < 2 else 0.0)
        rows.append((rel, truth))
        entries.append((rel, (W, H), true_boxes))
        preds.append(pred + [''])
        truths.append(truth + [''] * (3 - len(truth)))
        confs.append(h.confidence_plain(logits)[0])
        pboxes.append(boxes)
    gt = str(tmp / 'gt.tsv')
    h.write_words_gt(gt, rows, 3, 6, chars)
    h.write_boxes_json(str(tmp / 'gt.boxes.json'), entries)
    path = h.save(model, str(tmp / 'model.npz'), dataset=gt, iteration=321, data_dir=str(tmp),
                  level=1)
    want = h.figures_plain(preds, truths, ious)
    assert 0 < want['sequence_accuracy'] < 1 and 0 < want['iou50'] < 1   # a test that can fail
    return dict(tmp=tmp, model=path, gt=gt, want=want, preds=preds, truths=truths,
                confs=confs, boxes=pboxes, rows=rows)


def test_figures_json_and_csv_match_an_independent_computation(gt_set, capsys):
    out = gt_set['tmp'] / 'report'
    buf = io.StringIO()
    rc = ev_mod.main([gt_set['model'], '--out', str(out), '--batch-size', '3', '--no-progress',
                      '--visualize', '2'], stdout=buf)
    text = buf.getvalue()
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / 'report.json').read_text())
    check_figures(report, gt_set['want'], printed_figures(text))
    assert report['counts'] == {'images': 7, 'words': sum(len([w for w in t if w])
                                                         for t in gt_set['truths']),
                                'boxes_compared': sum(len([w for w in t if w])
                                                      for t in gt_set['truths']),
                                'skipped': 0}
    assert report['model']['iteration'] == 321
    assert report['dataset']['ground_truth'] == gt_set['gt']
    assert 'iteration 321' in text and 'No table of the paper' in text
    assert 'mostly training images' in text        # the recorded dataset is a file

    with open(str(out / 'predictions.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7
    for k, row in enumerate(rows):
        pred, truth = gt_set['preds'][k], gt_set['truths'][k]
        assert row['path'] == os.path.join(str(gt_set['tmp']), gt_set['rows'][k][0])
        assert json.loads(row['words']) == pred[:2]
        assert row['text'] == ' '.join(w for w in pred if w)
        assert row['label'] == ' '.join(w for w in truth if w)
        assert int(row['correct']) == int(pred == truth)
        assert numpy.allclose(json.loads(row['boxes']), gt_set['boxes'][k], atol=0.006)
        assert float(row['confidence']) == pytest.approx(gt_set['confs'][k], rel=1e-5)
    vis = sorted(os.listdir(str(out / 'visualizations')))
    assert len(vis) == 2 and vis[0].startswith('000000_')


def test_batch_size_does_not_change_the_figures(gt_set):
    cfg = h.tiny_svhn_config()
    model = h.fixed_model(cfg)
    ds, _ = ev_mod.open_evaluation_set(gt_set['gt'], cfg)
    a = ev_mod.evaluate_model(model, ds, batch_size=1, show_progress=False).figures
    b = ev_mod.evaluate_model(model, ds, batch_size=7, show_progress=False).figures
    for k in KEYS:
        assert a[k] == pytest.approx(b[k], abs=1e-6)
        assert a[k] == pytest.approx(gt_set['want'][k], abs=1e-5)


def test_without_true_boxes_iou_is_null_and_printed_na(gt_set, tmp_path):
    gt = tmp_path / 'gt.tsv'
    text = open(gt_set['gt']).read().replace('images/', str(gt_set['tmp'] / 'images') + '/')
    gt.write_text(text)                      # same rows, no boxes JSON beside it
    buf = io.StringIO()
    rc = ev_mod.main([gt_set['model'], '--gt', str(gt), '--out', str(tmp_path / 'r'),
                      '--no-progress'], stdout=buf)
    assert rc == 0
    report = json.loads((tmp_path / 'r' / 'report.json').read_text())
    assert report['mean_iou'] is None and report['iou50'] is None
    want = dict(gt_set['want'], mean_iou=None, iou50=None)
    check_figures(report, want, printed_figures(buf.getvalue()))
    rows = list(csv.DictReader(open(str(tmp_path / 'r' / 'predictions.csv'), newline='')))
    assert all(r['ious'] == '' for r in rows)


def test_unreadable_image_stops_with_file_and_line_or_is_skipped(gt_set, tmp_path, capsys):
    import shutil
    shutil.copytree(str(gt_set['tmp'] / 'images'), str(tmp_path / 'images'))
    shutil.copy(gt_set['gt'], str(tmp_path / 'gt.tsv'))
    (tmp_path / 'images' / 'img3.png').write_bytes(b'\x89PNG\r\n\x1a\nbroken')
    gt = str(tmp_path / 'gt.tsv')
    assert ev_mod.main([gt_set['model'], '--gt', gt, '--no-progress'],
                       stdout=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert 'gt.tsv:5:' in err and 'img3.png' in err
    buf = io.StringIO()
    assert ev_mod.main([gt_set['model'], '--gt', gt, '--no-progress', '--skip-bad'],
                       stdout=buf) == 0
    assert 'images             6 (1 skipped as unreadable)' in buf.getvalue()
    assert 'skipped: ' in capsys.readouterr().err


def test_published_layout_file_evaluates_with_preset_svhn(tmp_path):
    from chainer_see import load_model
    from tests.model.test_model_io import published_file
    path = str(tmp_path / 'published.npz')
    published_file(path, seed=3)
    buf = io.StringIO()
    rc = ev_mod.main([path, '--preset', 'svhn', '--dataset', 'synthetic-svhn', '--count', '5',
                      '--batch-size', '2', '--no-progress', '--out', str(tmp_path / 'r')],
                     stdout=buf)
    assert rc == 0
    text = buf.getvalue()
    # independent: the published weights run image by image on the same held-out images
    model = load_model(path, preset='svhn')
    ds = presets.evaluation_dataset('synthetic-svhn', count=5)
    chars = h.chars_of(model.config)
    preds, truths, ious = [], [], []
    for i in range(5):
        x, _ = ds[i]
        logits, boxes = h.run_one(model, x)
        preds.append(h.decode_plain(logits, chars))
        truths.append(ds.words(i))
        ious += [h.iou_plain(boxes[0], ds.true_boxes(i)[0])]
    report = json.loads((tmp_path / 'r' / 'report.json').read_text())
    check_figures(report, h.figures_plain(preds, truths, ious), printed_figures(text))
    assert report['model']['file_format'] == 0
    assert 'Table 1 of the paper' in text and 'SEE, Bartz et al. (2018)' in text
    assert 'this model (synthetic-svhn, iterations unknown) *' in text
    assert 'SYNTHETIC dataset' in text
    assert report['paper_table']['table'] == 1 and not report['paper_table']['comparable']


def test_missing_options_are_named(tmp_path, capsys, gt_set):
    from tests.model.test_model_io import published_file
    path = str(tmp_path / 'published.npz')
    published_file(path)
    assert ev_mod.main([path, '--dataset', 'synthetic-svhn']) == 2
    assert '--preset svhn' in capsys.readouterr().err
    bare = h.save(h.fixed_model(h.tiny_svhn_config(), varied=False), str(tmp_path / 'm.npz'))
    assert ev_mod.main([bare]) == 2
    err = capsys.readouterr().err
    assert 'records no training dataset' in err and '--dataset' in err and '--gt' in err
    with pytest.raises(SystemExit) as e:
        ev_mod.main([bare, '--gt', gt_set['gt'], '--visualize', '3'])
    assert e.value.code == 2 and '--visualize needs --out' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ev_mod.main([bare, '--gt', gt_set['gt'], '--dataset', 'svhn'])
    assert 'not allowed with argument' in capsys.readouterr().err


def test_a_dataset_of_another_char_map_is_compared_by_character(tmp_path, capsys):
    """A dataset labelled with another char map (here the svhn digits in reverse order):
    evaluate_model compares by character, so a truth made from the model's own reading is
    all right; compared by class id it would be nearly all wrong."""
    from chainer_see.data.char_map import CharMap
    cfg = h.tiny_svhn_config()
    model = h.fixed_model(cfg)
    chars = h.chars_of(cfg)
    other = CharMap([chars[0]] + chars[:0:-1] + ['x'], name='reversed')   # 'x': not the model's
    rng = numpy.random.RandomState(2)
    images, labels, words = [], [], []
    for k in range(4):
        x = numpy.asarray(h.pattern_image(rng, (40, 40)), numpy.float32).transpose(2, 0, 1) / 255
        truth = h.decode_plain(h.run_one(model, x)[0], chars)
        if k == 3:
            truth = ['x' + truth[0][1:], truth[1]]           # a character the model lacks
        lab = numpy.zeros((2, 5), numpy.int32)
        for n, w in enumerate(truth):
            lab[n, :len(w)] = other.encode(w)
        images.append(x)
        labels.append(lab)
        words.append(truth)

    class Data(object):
        char_map, num_words, max_chars, num_views = other, 2, 5, 1

        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return images[i], labels[i]

    ev = ev_mod.evaluate_model(model, Data(), batch_size=3, show_progress=False)
    assert ev.label_words == words                              # the true text, 'x' included
    assert ev.figures['sequence_accuracy'] == pytest.approx(3 / 4.0)
    assert ev.words[:3] == words[:3] and ev.words[3][0] != words[3][0]
    warning = ev_mod.fit_warning(cfg, Data())
    assert 'labelled with the reversed char map (12 classes), the model reads the svhn one ' \
           '(11 classes): labels are compared by character; 1 of the data\'s 11 characters ' \
           'are not in the model\'s char map' in warning
    # through the command: a synthetic set of the fsns char map is evaluated, with one
    # warning line on stderr (it used to be refused)
    path = h.save(model, str(tmp_path / 'model.npz'), dataset='synthetic-fsns')
    buf = io.StringIO()
    assert ev_mod.main([path, '--count', '2', '--no-progress'], stdout=buf) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith('warning: the model does not fit the data: ')
    assert 'the fsns char map (134 classes), the model reads the svhn one' in err[0]
    assert 'images             2' in buf.getvalue()


def test_more_words_and_characters_than_the_model_has_give_one_warning_line(gt_set, capsys):
    """gt_set holds 3 words x 6 chars, the model 2 slots x 5: it evaluates (the extra word
    and characters count wrong, as figures_plain counts them) after one warning line."""
    buf = io.StringIO()
    assert ev_mod.main([gt_set['model'], '--gt', gt_set['gt'], '--no-progress'],
                       stdout=buf) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith('warning: the model does not fit the data: the model has 2 word '
                             'slots, the data up to 3 words per image: words beyond slot 2 can '
                             'never be read and count as wrong')
    assert 'the model reads at most 5 characters per word, the data has words of up to 6' \
        in err[0]
    assert 'char map' not in err[0]
    got = printed_figures(buf.getvalue())
    assert got['sequence_accuracy'] == pytest.approx(gt_set['want']['sequence_accuracy'],
                                                     abs=5.1e-5)
    fits = h.tiny_svhn_config(num_regions=3, num_chars=6)
    assert ev_mod.fit_warning(fits, ev_mod.open_evaluation_set(gt_set['gt'], fits)[0]) is None
    fewer = ev_mod.fit_warning(h.tiny_svhn_config(num_regions=4, num_chars=6),
                               ev_mod.open_evaluation_set(gt_set['gt'], fits)[0])
    assert 'the model has 4 word slots, the data at most 3 words per image: slot 4 must ' \
           'read nothing' in fewer


def test_gpu_option(monkeypatch, capsys, gt_set):
    from chainer.backends import cuda
    assert isinstance(inference.get_device(-1), type(inference.get_device(-3)))
    assert inference.get_device(-1).xp is numpy
    monkeypatch.setattr(cuda, 'available', False)
    with pytest.raises(ValueError, match=r'--gpu 0: CuPy cannot use a GPU'):
        inference.get_device(0)
    assert ev_mod.main([gt_set['model'], '--gpu', '1']) == 2
    assert '--gpu 1' in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        ev_mod.main(['--help'])
    assert e.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())     # independent of the wrapping
    for opt in ('--dataset', '--gt', '--data-dir', '--count', '--preset', '--batch-size',
                '--gpu', '--out', '--visualize', '--skip-bad', '--no-progress'):
        assert opt in text, opt
    assert '(default: 1000)' in text and '(default: 32)' in text and '(default: -1)' in text


def test_a_curriculum_is_evaluated_on_its_last_validation_file(gt_set, tmp_path):
    import shutil
    shutil.copytree(str(gt_set['tmp'] / 'images'), str(tmp_path / 'images'))
    lines = open(gt_set['gt']).read().splitlines()
    (tmp_path / 'easy.tsv').write_text('\n'.join(lines[:3]) + '\n')
    (tmp_path / 'hard.tsv').write_text('\n'.join(lines) + '\n')
    (tmp_path / 'curriculum.json').write_text(json.dumps(
        [{'train': 'easy.tsv', 'validation': 'easy.tsv'},
         {'train': 'hard.tsv', 'validation': 'hard.tsv'}]))
    buf = io.StringIO()
    assert ev_mod.main([gt_set['model'], '--dataset', str(tmp_path / 'curriculum.json'),
                        '--no-progress', '--out', str(tmp_path / 'r')], stdout=buf) == 0
    assert 'is a curriculum (no test set): evaluating on the validation file of its last ' \
           'level, %s' % (tmp_path / 'hard.tsv') in buf.getvalue()
    report = json.loads((tmp_path / 'r' / 'report.json').read_text())
    assert report['counts']['images'] == 7
    assert report['sequence_accuracy'] == pytest.approx(gt_set['want']['sequence_accuracy'])


def test_figures_by_word_position_show_the_region_that_fails():
    from chainer_see.evaluation.loop import Evaluation, by_word
    ev = Evaluation()
    ev.words = [['12', '99', ''], ['5', '', ''], ['7', '8', '']]
    ev.label_words = [['12', '34', ''], ['5', '', ''], ['7', '8', '']]
    ev.ious = [numpy.array([0.8, 0.1]), numpy.array([0.6]), None]    # the third: no boxes
    rows = by_word(ev)
    assert [r['words'] for r in rows] == [3, 2]
    assert rows[0]['word_accuracy'] == 1.0 and rows[1]['word_accuracy'] == 0.5
    assert rows[0]['mean_iou'] == pytest.approx(0.7) and rows[0]['iou50'] == 1.0
    assert rows[1]['mean_iou'] == pytest.approx(0.1) and rows[1]['iou50'] == 0.0
    # two views: a word's IoU is the mean of its views (word-major, as reading_order_ious)
    ev.words, ev.label_words = [['ab', 'cd']], [['ab', 'cd']]
    ev.ious = [numpy.array([0.2, 0.4, 0.9, 0.7])]
    rows = by_word(ev)
    assert [r['mean_iou'] for r in rows] == pytest.approx([0.3, 0.8])
    assert [r['iou50'] for r in rows] == [0.0, 1.0]
    # a word in a slot the model lacks counts as not read (IoU 0, as reading_order_ious)
    ev.words, ev.label_words = [['1']], [['1', '2']]
    ev.ious = [numpy.array([0.5, 0.0])]
    rows = by_word(ev)
    assert [r['word_accuracy'] for r in rows] == [1.0, 0.0]

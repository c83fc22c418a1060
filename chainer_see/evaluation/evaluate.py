"""Evaluation of a model file on a dataset: the loop, the figures, the report.

    python evaluate.py model.npz [--dataset NAME | --gt FILE] [--out DIR] ...

What is measured (on the held-out set, every image resized to the model input):

* ``sequence_accuracy``, ``word_accuracy``, ``char_accuracy``, ``edit_distance``
  (normalized), as defined in ``chainer_see.evaluation.metrics``; ``accuracy`` is the
  published code's figure.  Predictions and labels are padded with blank slots and
  characters to a common shape first, so a model with fewer word slots than the data
  misses the extra words (counted wrong) and nothing is cut off.
* ``mean_iou`` and ``iou50``, where the dataset knows its true word boxes (synthetic
  data, ground truth with a boxes JSON): predicted region ``k`` against true word ``k``
  (reading order, the order the model is trained in), for every slot holding a true
  word and every view (FSNS: four IoUs per word); the mean of those IoUs and the share
  ``>= 0.5``.  Both ``None`` (JSON ``null``, printed ``n/a``) without true boxes, or when
  the data's views differ from the model's.  Box conventions: ``evaluation.boxes``.
* ``confidence`` per image (``predictions.csv``): see ``evaluation.inference``.

A model that does not fit the data (fewer or more word slots than the data's words per
image, fewer characters per word, another char map) is evaluated all the same, after one
``warning:`` line on stderr that says what differs and what it does to the figures
(:func:`fit_warning`); labels of another char map are compared by character.  Bad input
(a damaged model file, an ``--out`` that is a file, an unreadable or too small image) is
one ``error:`` line and exit status 2; ``--out`` is checked before any work.
"""
import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import sys

import numpy

from chainer_see.atomic import write_text
from chainer_see.cli_types import count, positive_int
from chainer_see.data.errors import EXIT_BAD_INPUT, DataError, error_line
from chainer_see.evaluation import draw as draw_mod
from chainer_see.evaluation import inference, tables
from chainer_see.evaluation.boxes import reading_order_ious
from chainer_see.evaluation import metrics
from chainer_see import zoo
from chainer_see.config import PRESETS as MODEL_PRESETS

DEFAULT_COUNT = 1000
DEFAULT_BATCH = 32
REPORT_KEYS = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'edit_distance',
               'mean_iou', 'iou50')


# ---------------------------------------------------------------------- the data
def open_evaluation_set(dataset, config, data_dir='data', count=DEFAULT_COUNT, skip_bad=False):
    """The held-out set of ``dataset`` (preset name, ground-truth file or curriculum JSON)
    for a model of ``config``: images resized to ``config.image_size``, labels read with
    the model's char map.

    Returns ``(dataset, note)``, ``note`` a line for the user or ``None``.  A curriculum
    JSON has no test set: its last (hardest) level's validation file is used, and the
    note says so.  Raises ``FileNotFoundError`` / ``DataError`` / ``ValueError`` with the
    file or option named.  A dataset with its own char map (the synthetic ones) may differ
    from the model's: :func:`fit_warning` says so and :func:`evaluate_model` compares
    the labels by character.
    """
    from chainer_see.data import presets
    from chainer_see.data.ground_truth import load_curriculum

    char_map = config.get_char_map()
    note = None
    if presets.is_path(dataset) and dataset.endswith('.json') and os.path.exists(dataset):
        note = ('%s is a curriculum (no test set): evaluating on the validation file of '
                'its last level, %s' % (dataset, load_curriculum(dataset)[-1].validation))
    ds = presets.evaluation_dataset(dataset, data_dir, image_size=tuple(config.image_size),
                                    count=count, skip_bad=skip_bad, char_map=char_map)
    return ds, note


def _char_map_name(cm):
    """``svhn`` / ``fsns`` for the built-in maps (also when stored as a list), else a name
    or ``custom``."""
    from chainer_see.data.char_map import CharMap
    for name in ('svhn', 'fsns'):
        if cm.chars == CharMap.load(name).chars:
            return name
    return cm.name or 'custom'


def fit_warning(config, dataset):
    """One line saying how ``dataset`` does not fit a model of ``config``, and what that
    means for the figures; ``None`` when it fits.

    Compared: word slots (the model's N against the data's words per image), characters
    per word (T), and the char map.  The evaluation goes on in every case (see
    :func:`evaluate_model`): words beyond the model's N slots or longer than its T
    characters count as wrong, and labels of another char map are compared by character,
    characters the model does not know counting as wrong.
    """
    parts = []
    n, t = config.num_regions, config.num_chars
    dn, dt = getattr(dataset, 'num_words', n), getattr(dataset, 'max_chars', t)
    if dn > n:
        parts.append('the model has %d word slot%s, the data up to %d words per image: words '
                     'beyond slot %d can never be read and count as wrong, lowering every '
                     'accuracy figure' % (n, '' if n == 1 else 's', dn, n))
    elif dn < n:
        extra = 'slot %d' % n if dn + 1 == n else 'slots %d..%d' % (dn + 1, n)
        parts.append('the model has %d word slots, the data at most %d word%s per image: '
                     '%s must read nothing, and a word read there counts against sequence '
                     'and char accuracy' % (n, dn, '' if dn == 1 else 's', extra))
    if dt > t:
        parts.append('the model reads at most %d characters per word, the data has words of '
                     'up to %d: longer words can never be read and count as wrong' % (t, dt))
    model_map, data_map = config.get_char_map(), getattr(dataset, 'char_map', None)
    if data_map is not None and data_map != model_map:
        unknown = sorted(set(data_map.chars[1:]) - set(model_map.chars[1:]))
        what = ('every character of the data is in the model\'s char map' if not unknown else
                '%d of the data\'s %d characters are not in the model\'s char map: words '
                'holding them can never be read and count as wrong'
                % (len(unknown), len(data_map) - 1))
        parts.append('the data is labelled with the %s char map (%d classes), the model reads '
                     'the %s one (%d classes): labels are compared by character; %s'
                     % (_char_map_name(data_map), len(data_map), _char_map_name(model_map),
                        len(model_map), what))
    if not parts:
        return None
    return 'the model does not fit the data: ' + '; '.join(parts)


class _Relabel(object):
    """Class ids of ``data_map`` -> ids of ``model_map`` (by character).

    A character the model does not know gets an id past the model's classes (``K``,
    ``K + 1``, ...), which no prediction can match; :attr:`truth_map` (the model's
    characters, then those) decodes the relabelled truth to its real text.
    """

    def __init__(self, data_map, model_map):
        index = {}
        for i, c in enumerate(model_map.chars[1:], 1):
            index.setdefault(c, i)
        extra = []
        table = numpy.zeros(len(data_map), numpy.int32)
        for i, c in enumerate(data_map.chars):
            if i == 0:
                continue
            if c not in index:
                index[c] = len(model_map) + len(extra)
                extra.append(c)
            table[i] = index[c]
        self.table = table
        from chainer_see.data.char_map import CharMap
        self.truth_map = CharMap(list(model_map.chars) + extra, name=model_map.name)

    def __call__(self, labels):
        return self.table[labels]


def example_name(dataset, dataset_name, i):
    """The image's path for file datasets, ``NAME[i]`` for generated ones."""
    if hasattr(dataset, 'image_path'):
        return dataset.image_path(i)
    return '%s[%d]' % (dataset_name, i)


def _load_batch(dataset, indices, skip_bad, report):
    kept, images, labels, boxes = [], [], [], []
    for i in indices:
        try:
            x, lab = dataset[i]
        except DataError as e:
            if not skip_bad:
                raise
            report('skipped: %s' % e)
            continue
        kept.append(i)
        images.append(x)
        labels.append(lab)
        tb = dataset.true_boxes(i) if hasattr(dataset, 'true_boxes') else None
        boxes.append(None if tb is None else numpy.asarray(tb, numpy.float32).reshape(-1, 4))
    if not kept:
        return kept, None, None, boxes
    return kept, numpy.stack(images), numpy.stack(labels), boxes


def _pad(a, n, t):
    out = numpy.zeros((a.shape[0], n, t), numpy.int32)
    out[:, :a.shape[1], :a.shape[2]] = a
    return out


# ---------------------------------------------------------------------- the loop
class Evaluation(object):
    """Per-image results and the figures of one evaluation.

    Attributes:
        indices (list of int): dataset indices evaluated (bad images skipped).
        names (list of str): image path or ``NAME[i]`` per image.
        pred_ids, labels: int32 ``(M, N, T)``, padded to a common shape.
        words, label_words: per image the list of N decoded strings.
        boxes: float32 ``(M, N*V, 4)``, pixels of the model input.
        word_confidences ``(M, N)``, confidences ``(M,)``.
        ious: per image float64 array (one IoU per true word and view) or ``None``.
        views_match (bool): the data's views equal the model's (IoU possible).
        skipped (int): images skipped as unreadable (``skip_bad``).
        figures (dict): the report's figures (see :func:`figures`).
    """

    def __init__(self):
        self.indices, self.names, self.ious = [], [], []
        self.words, self.label_words = [], []
        self.skipped = 0
        self.views_match = True
        self.figures = {}


def evaluate_model(model, dataset, batch_size=DEFAULT_BATCH, device=None, show_progress=None,
                   skip_bad=False, report=None, dataset_name='dataset'):
    """Evaluate ``model`` (a ``SEE``) on ``dataset``; returns an :class:`Evaluation`.

    The dataset's images must have the model's input size (``open_evaluation_set`` sees
    to it).  Batches are loaded one ahead in a thread while the model runs; test mode,
    no graph.  ``skip_bad`` reports unreadable images (through ``report``, default
    stderr) and goes on; otherwise the first one raises its ``DataError``.  Labels of a
    dataset with another char map are compared by character (see :func:`fit_warning`).
    """
    from chainer_see.progress import Progress

    cfg = model.config
    char_map = cfg.get_char_map()
    V = cfg.views
    report = report or (lambda text: sys.stderr.write(text + '\n'))
    ev = Evaluation()
    ev.views_match = getattr(dataset, 'num_views', 1) == V
    data_map = getattr(dataset, 'char_map', None)
    relabel = None if data_map is None or data_map == char_map else _Relabel(data_map, char_map)
    truth_map = char_map if relabel is None else relabel.truth_map
    chunks = [list(range(s, min(s + batch_size, len(dataset))))
              for s in range(0, len(dataset), batch_size)]
    ids_all, lab_all, boxes_all, wc_all, c_all = [], [], [], [], []
    bar = Progress(total=len(dataset), desc='evaluate', enabled=show_progress, unit='img')
    with concurrent.futures.ThreadPoolExecutor(1) as pool, bar:
        future = pool.submit(_load_batch, dataset, chunks[0], skip_bad, report) if chunks else None
        for k in range(len(chunks)):
            kept, x, labels, tboxes = future.result()
            if k + 1 < len(chunks):
                future = pool.submit(_load_batch, dataset, chunks[k + 1], skip_bad, report)
            ev.skipped += len(chunks[k]) - len(kept)
            if kept:
                if relabel is not None:
                    labels = relabel(labels)
                r = inference.read(model, x, char_map, device)
                ids_all.append(r.ids)
                lab_all.append(labels)
                boxes_all.append(r.boxes)
                wc_all.append(r.word_confidences)
                c_all.append(r.confidences)
                ev.words.extend(r.words)
                ev.label_words.extend(metrics.decode(labels, truth_map))
                for j, i in enumerate(kept):
                    ev.indices.append(i)
                    ev.names.append(example_name(dataset, dataset_name, i))
                    tb = tboxes[j]
                    if tb is None or not ev.views_match:
                        ev.ious.append(None)
                    else:
                        ev.ious.append(reading_order_ious(r.boxes[j], tb, labels[j], V))
            bar.update(len(chunks[k]))
    if not ids_all:
        raise DataError(dataset_name, None, 'no image could be evaluated')
    pred = numpy.concatenate(ids_all)
    lab = numpy.concatenate(lab_all)
    n, t = max(pred.shape[1], lab.shape[1]), max(pred.shape[2], lab.shape[2])
    ev.pred_ids, ev.labels = _pad(pred, n, t), _pad(lab, n, t)
    ev.boxes = numpy.concatenate(boxes_all)
    ev.word_confidences = numpy.concatenate(wc_all)
    ev.confidences = numpy.concatenate(c_all)
    ev.figures = figures(ev)
    return ev


def _nan_to_none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def figures(ev):
    """The report's figures of an :class:`Evaluation` (floats, ``None`` where undefined):
    ``sequence_accuracy``, ``word_accuracy``, ``char_accuracy``, ``edit_distance``,
    ``mean_iou``, ``iou50``, ``accuracy`` (published), and the counts ``images``,
    ``words`` (true words), ``boxes_compared`` (IoUs taken), ``skipped``."""
    m = metrics.evaluate(ev.pred_ids, ev.labels)
    out = {k: _nan_to_none(m[k]) for k in ('sequence_accuracy', 'word_accuracy',
                                           'char_accuracy', 'edit_distance', 'accuracy')}
    known = [a for a in ev.ious if a is not None]
    all_ious = numpy.concatenate(known) if known else numpy.zeros(0)
    out['mean_iou'] = float(all_ious.mean()) if len(all_ious) else None
    out['iou50'] = float((all_ious >= 0.5).mean()) if len(all_ious) else None
    out['images'] = int(len(ev.indices))
    out['words'] = int((ev.labels != 0).any(axis=-1).sum())
    out['boxes_compared'] = int(len(all_ious))
    out['skipped'] = int(ev.skipped)
    return out


# ---------------------------------------------------------------------- the report
def _pct(v):
    return 'n/a' if v is None else '%.2f %%' % (100.0 * v)


def _num(v, fmt='%.4f'):
    return 'n/a' if v is None else fmt % v


def format_figures(f, views_match=True):
    """The figures as aligned text lines."""
    lines = [
        ('images', '%d%s' % (f['images'], ' (%d skipped as unreadable)' % f['skipped']
                             if f['skipped'] else '')),
        ('sequence accuracy', _pct(f['sequence_accuracy'])),
        ('word accuracy', _pct(f['word_accuracy'])),
        ('char accuracy', _pct(f['char_accuracy'])),
        ('edit distance', _num(f['edit_distance']) + ('' if f['edit_distance'] is None else
                                                      '  (normalized; 0 = every word right)')),
        ('mean IoU', _num(f['mean_iou']) + (
            '  (%d word boxes, reading order)' % f['boxes_compared'] if f['mean_iou'] is not None
            else '  (no true boxes known for this data)' if views_match
            else '  (the data has other views than the model)')),
        ('IoU >= 0.5', _pct(f['iou50'])),
    ]
    return ['%-18s %s' % (k, v) for k, v in lines]


def describe_model(path, config, metadata, fmt):
    md = metadata or {}
    parts = []
    if md.get('iteration') is not None:
        parts.append('iteration %s' % tables._thousands(md['iteration']))
    if md.get('dataset'):
        parts.append('trained on %s' % md['dataset'])
    if md.get('level_name') and (md.get('num_levels') or 1) > 1:
        parts.append('curriculum level %s' % md['level_name'])
    if fmt == 0:
        parts.append('published layout')
    H, W = config.image_size
    parts.append('%dx%d input, %d view%s, %d word slot%s x %d chars, %d classes' % (
        H, W, config.views, 's' if config.views > 1 else '', config.num_regions,
        's' if config.num_regions > 1 else '', config.num_chars, config.num_classes))
    return '%s (%s)' % (path, '; '.join(parts))


def describe_dataset(name, ds):
    from chainer_see.data import presets
    if name in presets.PRESETS:
        p = presets.PRESETS[name]
        if p.synthetic:
            return '%s: %s; %d held-out images (seed %d), SYNTHETIC' % (
                name, p.description, len(ds), presets.TEST_SEED)
        return '%s: %s; test set %s' % (name, p.description, getattr(ds, 'path', ''))
    return '%s: ground-truth file, %d images' % (getattr(ds, 'path', name), len(ds))


def table_text(dataset_name, config, metadata, sequence_accuracy):
    """The matching paper table with this model's row, or a line saying there is none."""
    table, kind = tables.table_for(dataset_name, config)
    if table is None:
        return None, 'No table of the paper is about this dataset (Tables 1 and 2 are SVHN ' \
                     '64x64 crops and FSNS).'
    label = tables.model_row_label(dataset_name, (metadata or {}).get('iteration'))
    return (table, kind, label), tables.format_table(table, kind, sequence_accuracy, label)


def report_dict(ev, model_path, config, metadata, fmt, dataset_name, ds, table):
    """The content of ``report.json``."""
    f = dict(ev.figures)
    doc = {k: f[k] for k in REPORT_KEYS}
    doc['accuracy'] = f['accuracy']
    md = metadata or {}
    doc['counts'] = {k: f[k] for k in ('images', 'words', 'boxes_compared', 'skipped')}
    doc['model'] = {
        'path': model_path, 'file_format': fmt, 'iteration': md.get('iteration'),
        'trained_on': md.get('dataset'), 'level': md.get('level'),
        'image_size': list(config.image_size), 'views': config.views,
        'num_regions': config.num_regions, 'num_chars': config.num_chars,
        'num_classes': config.num_classes,
    }
    from chainer_see.data import presets
    synthetic = dataset_name in presets.PRESETS and presets.PRESETS[dataset_name].synthetic
    doc['dataset'] = {'name': dataset_name, 'synthetic': synthetic, 'size': len(ds),
                      'ground_truth': getattr(ds, 'path', None)}
    if table is not None:
        t, kind, label = table
        doc['paper_table'] = {'table': t.number, 'title': t.title, 'comparable': kind == 'paper',
                              'rows': [{'method': n, 'sequence_accuracy': round(v / 100.0, 4)}
                                       for n, v in t.rows],
                              'this_model': {'method': label,
                                             'sequence_accuracy': f['sequence_accuracy']}}
    else:
        doc['paper_table'] = None
    return doc


def _round_boxes(b):
    return [[round(float(v), 2) for v in row] for row in numpy.asarray(b).reshape(-1, 4)]


CSV_COLUMNS = ('index', 'path', 'text', 'words', 'boxes', 'confidence', 'word_confidences',
               'label', 'label_words', 'correct', 'ious')


def predictions_csv(ev):
    """``predictions.csv`` as text; one row per image (columns: :data:`CSV_COLUMNS`).

    ``text``: the non-empty words of the word slots joined by one space; ``words``: JSON
    list of every slot's word (``""`` = empty slot); ``boxes``: JSON list of the N*V
    boxes ``[x_min, y_min, x_max, y_max]`` (region-major) in pixels of the model input;
    ``confidence``: the image's (see ``evaluation.inference``); ``word_confidences``:
    JSON list per slot; ``label`` / ``label_words`` likewise for the truth; ``correct``:
    1 if every slot is right (sequence accuracy) else 0; ``ious``: JSON list (one per
    true word and view) or empty without true boxes.
    """
    correct = metrics.word_correct(ev.pred_ids, ev.labels).all(axis=1)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(CSV_COLUMNS)
    for j, i in enumerate(ev.indices):
        words, truth = ev.words[j], ev.label_words[j]
        ious = ev.ious[j]
        w.writerow([
            i, ev.names[j], ' '.join(x for x in words if x),
            json.dumps(words, ensure_ascii=False), json.dumps(_round_boxes(ev.boxes[j])),
            '%.6g' % ev.confidences[j],
            json.dumps([float('%.6g' % c) for c in ev.word_confidences[j]]),
            ' '.join(x for x in truth if x), json.dumps(truth, ensure_ascii=False),
            int(correct[j]),
            '' if ious is None else json.dumps([round(float(v), 4) for v in ious]),
        ])
    return buf.getvalue()


def save_visualizations(ev, dataset, folder, count, views):
    """Annotated images of the first ``count`` evaluated images -> ``folder``; returns paths.

    Predicted boxes in the region colours with the words read, true boxes (when known)
    dashed white, and a caption with the reading, the truth and the confidence.
    """
    os.makedirs(folder, exist_ok=True)
    correct = metrics.word_correct(ev.pred_ids, ev.labels).all(axis=1)
    paths = []
    for j in range(min(count, len(ev.indices))):
        i = ev.indices[j]
        image, _ = dataset[i]
        tb = dataset.true_boxes(i) if hasattr(dataset, 'true_boxes') else None
        read = ' '.join(x for x in ev.words[j] if x) or '(nothing)'
        truth = ' '.join(x for x in ev.label_words[j] if x) or '(nothing)'
        caption = 'read:  %s   (confidence %.3g)\ntruth: %s   %s' % (
            read, ev.confidences[j], truth, 'RIGHT' if correct[j] else 'WRONG')
        if ev.ious[j] is not None and len(ev.ious[j]):
            caption += '   IoU %s' % ' '.join('%.2f' % v for v in ev.ious[j])
        img = draw_mod.draw_boxes(image, ev.boxes[j], ev.words[j], views=views,
                                  true_boxes=tb, caption=caption)
        path = os.path.join(folder, '%06d_%s.png' % (i, 'right' if correct[j] else 'wrong'))
        img.save(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------- the command
def check_output_folder(path, option='--out', files=(), folders=()):
    """Refuse an output folder that cannot hold the outputs, before any work is done.

    ``path`` must be a folder or not exist yet (then its nearest existing parent must be
    a writable folder); inside an existing one, ``files`` must not be folders and
    ``folders`` must not be files.  Raises ``ValueError`` (``OPTION PATH: reason``, one
    line); creates nothing.
    """
    def refuse(reason):
        raise ValueError('%s %s: %s' % (option, path, reason))

    if os.path.isdir(path):
        for name in files:
            if os.path.isdir(os.path.join(path, name)):
                refuse('%s in it is a folder; it cannot be replaced by the %s file'
                       % (name, name))
        for name in folders:
            target = os.path.join(path, name)
            if os.path.exists(target) and not os.path.isdir(target):
                refuse('%s in it is a file, not a folder' % name)
        if not os.access(path, os.W_OK | os.X_OK):
            refuse('the folder is not writable')
        return
    if os.path.exists(path) or os.path.islink(path):
        refuse('exists and is not a folder (pass a folder, or a path that does not exist yet)')
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        refuse('%s is a file, not a folder' % parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        refuse('cannot create it: %s is not writable' % parent)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: X)`` to an option's help unless the help already says its default
    or there is none to say (``None``, flags)."""

    def _get_help_string(self, action):
        text = action.help or ''
        if '(default' in text or action.default is None or action.default is False \
                or action.default == argparse.SUPPRESS:
            return text
        return super(HelpFormatter, self)._get_help_string(action)


def build_parser():
    p = argparse.ArgumentParser(
        prog='evaluate.py',
        description='Evaluate a SEE model file: sequence, word and character accuracy, '
                    'normalized edit distance and, where true boxes are known, the IoU of '
                    'the predicted word boxes; prints the paper table that fits, with this '
                    "model's row added. The model file carries its configuration and the "
                    'dataset it was trained on, so the file alone is enough.',
        formatter_class=HelpFormatter)
    p.add_argument('model', help='model file (.npz) written by train.py, the name of a zoo '
                                 'model (models/NAME.npz: %s), or a published-layout weight '
                                 'file (then also pass --preset and --dataset/--gt)'
                                 % (', '.join(zoo.names()) or 'none yet'))
    src = p.add_mutually_exclusive_group()
    src.add_argument('--dataset', default=None,
                     help='dataset preset (synthetic-svhn, synthetic-grid, synthetic-random, '
                          'synthetic-fsns, svhn, svhn-grid, svhn-random, fsns) or a '
                          'ground-truth file (default: the dataset recorded in the model file)')
    src.add_argument('--gt', default=None, metavar='FILE',
                     help='a ground-truth file to evaluate on (same as --dataset FILE)')
    p.add_argument('--data-dir', default=None, metavar='DIR',
                   help="folder of the prepared real datasets (default: the one recorded in "
                        "the model file, else 'data')")
    p.add_argument('--count', type=positive_int, default=DEFAULT_COUNT,
                   help='images of a synthetic held-out set')
    p.add_argument('--preset', default=None, choices=tuple(MODEL_PRESETS),
                   help='model preset for a weight file without a stored configuration '
                        '(the published layout); ignored for files that carry one (default: '
                        'none: the file must carry its configuration)')
    p.add_argument('--batch-size', type=positive_int, default=DEFAULT_BATCH,
                   help='images per forward')
    p.add_argument('--gpu', type=int, default=-1, metavar='N',
                   help='GPU to run on (CuPy device N); -1 = CPU')
    p.add_argument('--out', default=None, metavar='DIR',
                   help='write report.json and predictions.csv (and the --visualize images) '
                        'into DIR, created if missing; existing files of those names are '
                        'replaced; an existing file as DIR is refused before any work '
                        '(default: print only)')
    p.add_argument('--visualize', type=count, default=0, metavar='N',
                   help='save annotated images of the first N evaluated images into '
                        'OUT/visualizations (needs --out) (default: 0, none)')
    p.add_argument('--skip-bad', action='store_true',
                   help='report and skip bad ground-truth rows and unreadable images instead '
                        'of stopping at the first')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p


def resolve_dataset(args, metadata, model_path):
    """The dataset to evaluate on, from the options or the model's metadata.

    Returns ``(dataset, note or None)``.  A recorded preset brings its own held-out set;
    a recorded ground-truth file is the training data itself, and the note says so.
    """
    from chainer_see.data import presets
    if args.gt is not None:
        return args.gt, None
    if args.dataset is not None:
        return args.dataset, None
    recorded = (metadata or {}).get('dataset')
    if not recorded:
        raise ValueError('%s records no training dataset: pass --dataset NAME or --gt FILE'
                         % model_path)
    note = None
    if presets.is_path(recorded) and not recorded.endswith('.json'):
        note = ('the model was trained on the ground-truth file %s and is evaluated on it: '
                'mostly training images (train.py holds out only its last 5 %%); pass --gt '
                'FILE for held-out ones' % recorded)
    return recorded, note


def main(argv=None, stdout=None):
    """``evaluate.py``; returns the exit status (0, or 2 for bad input or options)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    if args.visualize and not args.out:
        parser.error('--visualize needs --out DIR (the images go to DIR/visualizations)')
    try:
        if args.out:
            check_output_folder(args.out, '--out', files=('report.json', 'predictions.csv'),
                                folders=('visualizations',) if args.visualize else ())
        args.model = inference.model_path(args.model)
        return _run(args, out)
    except (DataError, ValueError, FileNotFoundError) as e:
        sys.stderr.write(error_line(e) + '\n')
        return EXIT_BAD_INPUT


def _run(args, out):
    model, device, metadata, fmt = inference.open_model(args.model, args.preset, args.gpu)
    config = model.config
    dataset_name, note0 = resolve_dataset(args, metadata, args.model)
    data_dir = args.data_dir or (metadata or {}).get('data_dir') or 'data'
    ds, note = open_evaluation_set(dataset_name, config, data_dir, args.count, args.skip_bad)
    note = note0 or note
    p = lambda line='': out.write(line + '\n')  # noqa: E731
    p('model    %s' % describe_model(args.model, config, metadata, fmt))
    p('dataset  %s' % describe_dataset(dataset_name, ds))
    if note:
        p('note     %s' % note)
    warning = fit_warning(config, ds)
    if warning:
        sys.stderr.write('warning: %s\n' % warning)
        sys.stderr.flush()
    ev = evaluate_model(model, ds, args.batch_size, device,
                        show_progress=False if args.no_progress else None,
                        skip_bad=args.skip_bad, dataset_name=dataset_name)
    p()
    for line in format_figures(ev.figures, ev.views_match):
        p(line)
    table, text = table_text(dataset_name, config, metadata, ev.figures['sequence_accuracy'])
    p()
    p(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        doc = report_dict(ev, args.model, config, metadata, fmt, dataset_name, ds, table)
        write_text(os.path.join(args.out, 'report.json'),
                   json.dumps(doc, indent=2, ensure_ascii=False) + '\n')
        write_text(os.path.join(args.out, 'predictions.csv'), predictions_csv(ev), newline='')
        p()
        p('wrote    %s, %s' % (os.path.join(args.out, 'report.json'),
                               os.path.join(args.out, 'predictions.csv')))
        if args.visualize:
            folder = os.path.join(args.out, 'visualizations')
            paths = save_visualizations(ev, ds, folder, args.visualize, config.views)
            p('wrote    %d annotated images to %s' % (len(paths), folder))
    return 0

"""What ``evaluate.py`` prints and writes: the figures as text, the model and dataset
lines, the paper table, ``report.json``, ``predictions.csv`` and the annotated images.
"""
import csv
import io
import json
import os

import numpy

from chainer_see.evaluation import draw as draw_mod
from chainer_see.evaluation import metrics
from chainer_see.evaluation import tables

REPORT_KEYS = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'edit_distance',
               'mean_iou', 'iou50')


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
    rows = f.get('by_word') or []
    if len(rows) > 1:       # several words: how each position (each region) fares
        for k, r in enumerate(rows, 1):
            iou = ('' if r['mean_iou'] is None else
                   ', IoU %s (%s >= 0.5)' % (_num(r['mean_iou']), _pct(r['iou50'])))
            lines.append(('  word %d' % k, '%s read right of %d%s'
                          % (_pct(r['word_accuracy']), r['words'], iou)))
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
    doc['by_word'] = f.get('by_word', [])
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

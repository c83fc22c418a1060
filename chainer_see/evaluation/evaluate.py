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
import json
import os
import sys

from chainer_see import zoo
from chainer_see.atomic import write_text
from chainer_see.cli_types import count, positive_int
from chainer_see.config import PRESETS as MODEL_PRESETS
from chainer_see.data.errors import EXIT_BAD_INPUT, DataError, error_line
from chainer_see.evaluation import inference
from chainer_see.evaluation import predict
from chainer_see.evaluation.cli_checks import HelpFormatter, check_output_folder
from chainer_see.evaluation.eval_set import DEFAULT_COUNT, fit_warning, open_evaluation_set
from chainer_see.evaluation.loop import DEFAULT_BATCH, Evaluation, evaluate_model, figures
from chainer_see.evaluation.report import (
    CSV_COLUMNS, REPORT_KEYS, describe_dataset, describe_model, format_figures,
    predictions_csv, report_dict, save_visualizations, table_text)

__all__ = ['main', 'build_parser', 'resolve_dataset', 'open_evaluation_set', 'fit_warning',
           'evaluate_model', 'Evaluation', 'figures', 'format_figures', 'predictions_csv',
           'report_dict', 'save_visualizations', 'check_output_folder', 'HelpFormatter',
           'DEFAULT_COUNT', 'DEFAULT_BATCH', 'REPORT_KEYS', 'CSV_COLUMNS']


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
    predict.add_lexicon_options(p)
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


def lexicon_reader(args, config):
    """The batch reader of ``--lexicon`` (``None`` without it); the errors of
    ``predict.open_lexicon``."""
    if not args.lexicon:
        return None
    tree = predict.open_lexicon(args.lexicon, config)

    def read(model, x, char_map, device=None):
        return predict.read_with_lexicon(model, x, char_map, tree, args.lexicon_distance,
                                         device)
    return read


def _run(args, out):
    model, device, metadata, fmt = inference.open_model(args.model, args.preset, args.gpu)
    config = model.config
    read = lexicon_reader(args, config)          # a bad --lexicon stops before any work
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
                        skip_bad=args.skip_bad, dataset_name=dataset_name,
                        read=read)
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

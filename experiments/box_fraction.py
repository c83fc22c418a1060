#!/usr/bin/env python
"""What a few true boxes buy (issue 17): runs trained with boxes on a share F of images.

Runs one set of experiments of ``small_scale.py`` that differ only in F, the share of
training images whose true boxes add the box loss (fixed and seeded), the same minutes
each:

- ``--set grid``: ``grid128-boxes-F``, the 128x128 grid from scratch, 1-4 filled cells
  mixed, evaluated on 1,000 held-out full grids;
- ``--set random``: ``random128-boxes-F``, the text-only random128 model on four numbers
  anywhere, evaluated on 1,000 held-out four-number images.

It writes into ``--runs`` (``NAME`` = ``box_fraction``, or ``box_fraction_random``):

- ``NAME.md`` and ``NAME.json``: per F, the iterations, the boxed images the run saw
  (F x iterations x batch), sequence accuracy, mean IoU and the share of boxes with
  IoU >= 0.5;
- ``NAME.png``: mean IoU and the IoU >= 0.5 share against F (log axis; F = 0 drawn as a
  line), and mean IoU against the number of labelled boxes seen.

Finished runs are not trained again.  Example::

    python experiments/box_fraction.py --set random --minutes 10
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import small_scale  # noqa: E402  (the experiment driver beside this script)

#: the batch size of both sets (train.py's default for the 128x128 sets), for a run
#: folder without its config.json
BATCH = 16

#: per set: the experiments' name pattern, what they train on, what they are tested on,
#: the output files' name
SETS = {
    'grid': ('grid128-boxes-%g', 'synthetic-grid128 from scratch',
             '1,000 held-out full grids', 'box_fraction'),
    'random': ('random128-boxes-%g', 'synthetic-random128 from the text-only random128 model',
               '1,000 held-out four-number images', 'box_fraction_random'),
}


def names(fractions, which='grid'):
    return [SETS[which][0] % f for f in fractions]


def rows_of(runs, fractions, which='grid'):
    """One row per finished and evaluated run: F and its figures."""
    rows = []
    for f, name in zip(fractions, names(fractions, which)):
        out = os.path.join(runs, name)
        report_path = os.path.join(out, 'eval', 'report.json')
        if not os.path.exists(report_path):
            continue
        with open(report_path) as fh:
            report = json.load(fh)
        with open(os.path.join(out, 'log')) as fh:
            log = json.load(fh)
        last = log[-1] if log else {}
        iterations = int(last.get('iteration', 0))
        batch = _batch_size(out)
        boxes = [e['main/box'] for e in log if 'main/box' in e]
        rows.append({'box_fraction': f, 'experiment': name, 'iterations': iterations,
                     'minutes': round(last.get('elapsed_time', 0) / 60.0, 1),
                     'boxed_images_seen': int(round(f * iterations * batch)),
                     'first_box_loss': boxes[0] if boxes else None,
                     'last_box_loss': boxes[-1] if boxes else None,
                     'sequence_accuracy': report.get('sequence_accuracy'),
                     'char_accuracy': report.get('char_accuracy'),
                     'mean_iou': report.get('mean_iou'), 'iou50': report.get('iou50')})
    return rows


def _batch_size(out):
    """The batch size the run in ``out`` trained with (its config.json), else BATCH."""
    path = os.path.join(out, 'config.json')
    if not os.path.exists(path):
        return BATCH
    with open(path) as fh:
        return int(json.load(fh)['options']['batch_size'])


def table(rows):
    def pct(v):
        return 'n/a' if v is None else '%.1f %%' % (100 * v)
    lines = ['| F | iterations | minutes | boxed images seen | sequence acc. | char acc. | '
             'mean IoU | IoU >= 0.5 |', '|' + '---|' * 8]
    for r in rows:
        lines.append('| %g %% | %d | %s | %d | %s | %s | %.3f | %s |' % (
            100 * r['box_fraction'], r['iterations'], r['minutes'], r['boxed_images_seen'],
            pct(r['sequence_accuracy']), pct(r['char_accuracy']), r['mean_iou'],
            pct(r['iou50'])))
    return '\n'.join(lines) + '\n'


def plot(rows, path, which='grid'):
    """IoU against F, and mean IoU against the labelled boxes seen."""
    _, trained, tested, _ = SETS[which]
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from chainer_see.atomic import atomic_file
    boxed = [r for r in rows if r['box_fraction'] > 0]
    text_only = [r for r in rows if r['box_fraction'] == 0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    ax.plot([100 * r['box_fraction'] for r in boxed], [r['mean_iou'] for r in boxed], 'o-',
            label='mean IoU')
    ax.plot([100 * r['box_fraction'] for r in boxed], [r['iou50'] for r in boxed], 's--',
            label='share with IoU >= 0.5')
    for r in text_only:
        ax.axhline(r['mean_iou'], color='grey', linestyle=':',
                   label='text only (F = 0): mean IoU')
    ax.set_xscale('log')
    ax.set_xlabel('share of training images with true boxes, F (%)')
    ax.set_ylabel('on ' + tested)
    ax.set_ylim(0, 1)
    ax.set_title('Box IoU against the share of boxed images')
    ax.legend(loc='upper left', fontsize=8)
    ax = axes[1]
    ax.plot([max(r['boxed_images_seen'], 1) for r in boxed], [r['mean_iou'] for r in boxed],
            'o-')
    for r in text_only:
        ax.axhline(r['mean_iou'], color='grey', linestyle=':', label='text only (F = 0)')
    ax.set_xscale('log')
    ax.set_xlabel('labelled images seen in training (log)')
    ax.set_ylabel('mean IoU, ' + tested)
    ax.set_ylim(0, 1)
    ax.set_title('Mean IoU against the labelled boxes it took')
    if text_only:
        ax.legend(loc='upper left', fontsize=8)
    fig.suptitle(trained + ', the same minutes per run')
    fig.tight_layout()
    with atomic_file(path) as fh:
        fig.savefig(fh, format='png', dpi=90)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--runs', default=os.path.join(HERE, 'runs'),
                   help='folder of the runs (one sub-folder per experiment)')
    p.add_argument('--set', dest='which', choices=sorted(SETS), default='grid',
                   help='grid: the 128x128 grid from scratch; random: the random128 model '
                        'on four numbers anywhere')
    p.add_argument('--minutes', type=float, default=None,
                   help='training minutes of each run; None: the experiments\' own '
                        '(%s)' % ', '.join('%s %g' % (w, small_scale.EXPERIMENTS[
                            names([0.0], w)[0]].minutes) for w in sorted(SETS)))
    p.add_argument('--fractions', type=float, nargs='+', default=list(small_scale.BOX_FRACTIONS),
                   choices=list(small_scale.BOX_FRACTIONS), metavar='F',
                   help='the shares F to run, of %s'
                        % ', '.join('%g' % f for f in small_scale.BOX_FRACTIONS))
    p.add_argument('--summary-only', action='store_true',
                   help='run nothing, only collect the figures of finished runs')
    args = p.parse_args(argv)
    todo = names(args.fractions, args.which)
    cmd = ['--runs', args.runs, '--only'] + todo + ['--no-baselines']
    if args.minutes is not None:
        cmd += ['--minutes'] + ['%s=%g' % (n, args.minutes) for n in todo]
    if args.summary_only:
        cmd.append('--summary-only')
    status = small_scale.main(cmd)
    if status:
        return status
    rows = rows_of(args.runs, args.fractions, args.which)
    from chainer_see.atomic import write_text
    stem = os.path.join(args.runs, SETS[args.which][3])
    write_text(stem + '.json', json.dumps(rows, indent=1))
    write_text(stem + '.md', table(rows))
    if rows:
        plot(rows, stem + '.png', args.which)
    print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python
"""What a few true boxes buy (issue 17): the grid trained with boxes on a share F of images.

Runs the ``grid128-boxes-F`` experiments of ``small_scale.py`` (the 128x128 grid from
scratch, 1-4 filled cells mixed, the box loss on a fixed, seeded share F of the training
images, the same minutes each), evaluates each on the 1,000 held-out full grids, and
writes into ``--runs``:

- ``box_fraction.md`` and ``box_fraction.json``: per F, the iterations, the boxed images
  the run saw (F x iterations x batch), sequence accuracy, mean IoU and the share of
  boxes with IoU >= 0.5;
- ``box_fraction.png``: mean IoU and the IoU >= 0.5 share against F (log axis; F = 0
  drawn as a line), and mean IoU against the number of labelled boxes seen.

Finished runs are not trained again.  Example::

    python experiments/box_fraction.py --minutes 8
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import small_scale  # noqa: E402  (the experiment driver beside this script)

#: the synthetic-grid128 batch size (train.py's default for it), for a run folder
#: without its config.json
BATCH = 16


def names(fractions):
    return ['grid128-boxes-%g' % f for f in fractions]


def rows_of(runs, fractions):
    """One row per finished and evaluated run: F and its figures."""
    rows = []
    for f, name in zip(fractions, names(fractions)):
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


def plot(rows, path):
    """IoU against F, and mean IoU against the labelled boxes seen."""
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
    ax.set_ylabel('on 1,000 held-out full grids')
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
    ax.set_ylabel('mean IoU, 1,000 held-out full grids')
    ax.set_ylim(0, 1)
    ax.set_title('Mean IoU against the labelled boxes it took')
    if text_only:
        ax.legend(loc='upper left', fontsize=8)
    fig.suptitle('synthetic-grid128 from scratch, the same minutes per run')
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
    p.add_argument('--minutes', type=float, default=None,
                   help='training minutes of each run (default: the experiments\' own, %g)'
                        % small_scale.EXPERIMENTS[names([0.0])[0]].minutes)
    p.add_argument('--fractions', type=float, nargs='+', default=list(small_scale.BOX_FRACTIONS),
                   choices=list(small_scale.BOX_FRACTIONS), metavar='F',
                   help='the shares F to run, of %s'
                        % ', '.join('%g' % f for f in small_scale.BOX_FRACTIONS))
    p.add_argument('--summary-only', action='store_true',
                   help='run nothing, only collect the figures of finished runs')
    args = p.parse_args(argv)
    todo = names(args.fractions)
    cmd = ['--runs', args.runs, '--only'] + todo + ['--no-baselines']
    if args.minutes is not None:
        cmd += ['--minutes'] + ['%s=%g' % (n, args.minutes) for n in todo]
    if args.summary_only:
        cmd.append('--summary-only')
    status = small_scale.main(cmd)
    if status:
        return status
    rows = rows_of(args.runs, args.fractions)
    from chainer_see.atomic import write_text
    write_text(os.path.join(args.runs, 'box_fraction.json'), json.dumps(rows, indent=1))
    write_text(os.path.join(args.runs, 'box_fraction.md'), table(rows))
    if rows:
        plot(rows, os.path.join(args.runs, 'box_fraction.png'))
    print(table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())

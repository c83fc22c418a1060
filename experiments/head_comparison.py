#!/usr/bin/env python
"""The three recognition heads in the same CPU budget (issue 20): LSTM, independent, CTC.

Runs the ``svhn`` (LSTM head), ``svhn-independent`` and ``svhn-ctc`` experiments of
``small_scale.py`` (64x64 crops of ``synthetic-svhn``, the same minutes each), each
evaluated on the 1,000 held-out images; then reads the CTC model once more under a
lexicon (CRNN's lexicon decoding, ``evaluate.py --lexicon``) and writes into ``--runs``:

- ``head_comparison/lexicon.txt``: every number of the 1,000 held-out images plus
  ``--distractors`` distinct random numbers of 1-5 digits that are not test numbers
  (drawn as the test numbers are, with ``--seed``), one per line, shuffled;
- ``svhn-ctc/eval-lexicon``: the CTC model's evaluation under that lexicon
  (``report.json``, ``predictions.csv``, ``lexicon.json``: what the lexicon held);
- ``head_comparison.md`` and ``head_comparison.json``: per head (LSTM, independent, CTC,
  CTC + lexicon) the iterations, minutes, sequence and character accuracy, mean IoU,
  the share of boxes with IoU >= 0.5 and the lexicon's size; runs not done yet are left
  out (a line names them);
- ``head_comparison.png``: sequence accuracy and mean IoU per row.

The runs go one at a time (each has the CPU to itself, as the svhn hour had);
``small_scale.py`` also rewrites ``--runs/summary.{json,md}`` and ``curves.png`` for these
three.  Finished runs are not trained again, a finished lexicon evaluation is not run
again (unless the lexicon changed).  Example::

    python experiments/head_comparison.py            # three one-hour runs, then the table
"""
import argparse
import hashlib
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import small_scale  # noqa: E402  (the experiment driver beside this script)

#: (row label, experiment, evaluation folder) of the table, in its order
HEADS = (('LSTM', 'svhn', 'eval'), ('independent', 'svhn-independent', 'eval'),
         ('CTC', 'svhn-ctc', 'eval'), ('CTC + lexicon', 'svhn-ctc', 'eval-lexicon'))
CTC = 'svhn-ctc'
DATASET = small_scale.EXPERIMENTS[CTC].dataset
#: held-out images: the lexicon's test numbers and every evaluation (small_scale's count)
EVAL_COUNT = small_scale.EVAL_COUNT
#: CRNN's largest edit distance between the word read and a lexicon word
LEXICON_DISTANCE = 3
#: what eval-lexicon/lexicon.json tells of the lexicon, copied into the rows
LEXICON_KEYS = ('size', 'test_numbers', 'distractors', 'seed', 'count', 'lexicon_distance')
#: the strings of 1-5 digits (a leading 0 included, as the generator rarely makes them)
NUMBER_SPACE = sum(10 ** k for k in range(1, 6))


def names():
    return list(dict.fromkeys(name for _, name, _ in HEADS))


def test_numbers(count=EVAL_COUNT):
    """The distinct numbers of the first ``count`` held-out images of ``synthetic-svhn``
    (the images ``evaluate.py MODEL --count COUNT`` reads), sorted."""
    from chainer_see.data.presets import evaluation_dataset
    ds = evaluation_dataset(DATASET, count=count)
    return sorted({w for i in range(len(ds)) for w in ds.words(i)})


def distractors(count, exclude, seed):
    """``count`` distinct numbers of 1-5 digits, none in ``exclude``, drawn with ``seed``
    the way the synthetic images draw theirs (``synthetic.random_digits``), in draw
    order."""
    from chainer_see.data.synthetic import random_digits
    exclude = set(exclude)
    if count > NUMBER_SPACE - len(exclude):
        raise ValueError('only %d numbers of 1-5 digits are not test numbers; asked for %d '
                         'distractors' % (NUMBER_SPACE - len(exclude), count))
    rng = random.Random(seed)
    found, seen = [], set(exclude)
    while len(found) < count:
        word = random_digits(rng, 1, 5)
        if word not in seen:
            seen.add(word)
            found.append(word)
    return found


def lexicon_words(tests, count, seed):
    """The test numbers and ``count`` distractors, shuffled with ``seed``."""
    words = sorted(tests) + distractors(count, tests, seed)
    random.Random(seed).shuffle(words)
    return words


def write_lexicon(path, words):
    """Write ``path`` (one word a line) unless it already holds exactly that; its SHA-256."""
    from chainer_see.atomic import write_text
    text = ''.join(w + '\n' for w in words)
    old = None
    if os.path.exists(path):
        with open(path, encoding='utf-8') as fh:
            old = fh.read()
    if old != text:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_text(path, text)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def lexicon_command(run, lexicon, count=None):
    """``evaluate.py`` reading the model of ``run`` under ``lexicon`` into eval-lexicon."""
    return [sys.executable, os.path.join(small_scale.ROOT, 'evaluate.py'),
            os.path.join(run, 'model.npz'), '--count', str(count or EVAL_COUNT),
            '--lexicon', lexicon, '--lexicon-distance', str(LEXICON_DISTANCE),
            '--out', os.path.join(run, 'eval-lexicon'), '--no-progress']


def _stamp(run):
    path = os.path.join(run, 'eval-lexicon', 'lexicon.json')
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        return json.load(fh)


def evaluate_with_lexicon(runs, lexicon, sha, about):
    """Evaluate the finished CTC run under ``lexicon`` (SHA-256 ``sha``) unless that was
    done with this lexicon; ``about`` goes into eval-lexicon/lexicon.json.  The exit
    status (0 also when there was nothing to do, or no finished CTC run yet)."""
    run = os.path.join(runs, CTC)
    done = os.path.exists(os.path.join(run, 'eval-lexicon', 'report.json'))
    if not small_scale.finished(run) or (done and _stamp(run).get('sha256') == sha):
        return 0
    cmd = lexicon_command(run, lexicon)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    status = small_scale.run(cmd, os.path.join(run, 'experiment.log'), env).wait()
    if status:
        print('%s: the lexicon evaluation failed (exit %d): see %s' % (
            CTC, status, os.path.join(run, 'experiment.log')), flush=True)
        return status
    from chainer_see.atomic import write_text
    stamp = dict(about, sha256=sha, count=int(cmd[cmd.index('--count') + 1]),
                 lexicon_distance=LEXICON_DISTANCE)
    write_text(os.path.join(run, 'eval-lexicon', 'lexicon.json'), json.dumps(stamp, indent=1))
    return 0


def rows_of(runs):
    """One row per head with an evaluation; the missing ones as ``(label, path)``."""
    rows, missing = [], []
    for label, name, folder in HEADS:
        out = os.path.join(runs, name)
        report_path = os.path.join(out, folder, 'report.json')
        if not os.path.exists(report_path):
            missing.append((label, os.path.relpath(report_path, runs)))
            continue
        with open(report_path) as fh:
            report = json.load(fh)
        log = small_scale.read_log(out)
        last = log[-1] if log else {}
        lexicon = _stamp(out) if folder == 'eval-lexicon' else {}
        rows.append({'head': label, 'experiment': name, 'evaluation': folder,
                     'iterations': int(last.get('iteration', 0)),
                     'minutes': round(last.get('elapsed_time', 0) / 60.0, 1),
                     'sequence_accuracy': report.get('sequence_accuracy'),
                     'char_accuracy': report.get('char_accuracy'),
                     'mean_iou': report.get('mean_iou'), 'iou50': report.get('iou50'),
                     'lexicon_size': lexicon.get('size'),
                     'lexicon': {k: lexicon.get(k) for k in LEXICON_KEYS} if lexicon else None})
    return rows, missing


def table(rows, missing=()):
    def pct(v):
        return 'n/a' if v is None else '%.1f %%' % (100 * v)
    lines = ['| head | iterations | minutes | sequence acc. | char acc. | mean IoU | '
             'IoU >= 0.5 | lexicon |', '|' + '---|' * 8]
    for r in rows:
        lines.append('| %s | %d | %s | %s | %s | %s | %s | %s |' % (
            r['head'], r['iterations'], r['minutes'], pct(r['sequence_accuracy']),
            pct(r['char_accuracy']),
            'n/a' if r['mean_iou'] is None else '%.3f' % r['mean_iou'], pct(r['iou50']),
            '-' if r['lexicon_size'] is None else '{:,} words'.format(r['lexicon_size'])))
    notes = ['%s: %s words, the %s distinct numbers of the %s held-out images and %s '
             'random numbers of 1-5 digits (seed %s), read within %s edits.' % (
                 r['head'], '{:,}'.format(r['lexicon']['size']), r['lexicon']['test_numbers'],
                 '{:,}'.format(r['lexicon']['count']),
                 '{:,}'.format(r['lexicon']['distractors']), r['lexicon']['seed'],
                 r['lexicon']['lexicon_distance']) for r in rows if r.get('lexicon')]
    if missing:
        notes.append('Not done yet: %s.' % ', '.join('%s (no %s)' % m for m in missing))
    for note in notes:
        lines += ['', note]
    return '\n'.join(lines) + '\n'


def plot(rows, path):
    """Grouped bars: sequence accuracy and mean IoU of each row."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from chainer_see.atomic import atomic_file
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, (key, label) in enumerate([('sequence_accuracy', 'sequence accuracy'),
                                      ('mean_iou', 'mean IoU')]):
        values = [r[key] or 0.0 for r in rows]
        bars = ax.bar([x + (k - 0.5) * 0.38 for x in xs], values, 0.38, label=label)
        for bar, v in zip(bars, values):
            ax.annotate('%.2f' % v, (bar.get_x() + bar.get_width() / 2, v), ha='center',
                        va='bottom', fontsize=8)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r['head'] for r in rows])
    ax.set_xlabel('recognition head')
    ax.set_ylabel('on %s held-out synthetic-svhn images' % '{:,}'.format(EVAL_COUNT))
    ax.set_ylim(0, 1.2)             # the legend above the bars
    ax.set_title('Recognition heads in the same CPU budget (%s min each)' % ', '.join(
        '%g' % v for v in sorted({r['minutes'] for r in rows})))
    ax.legend(loc='upper left', fontsize=8, ncol=2)
    fig.tight_layout()
    with atomic_file(path) as fh:
        fig.savefig(fh, format='png', dpi=90)
    plt.close(fig)
    return path


def prepare_lexicon(runs, count, seed):
    """Write RUNS/head_comparison/lexicon.txt; its path, SHA-256 and what it holds."""
    tests = test_numbers(EVAL_COUNT)
    words = lexicon_words(tests, count, seed)
    path = os.path.join(runs, 'head_comparison', 'lexicon.txt')
    about = {'lexicon': path, 'size': len(words), 'test_numbers': len(tests),
             'distractors': count, 'seed': seed}
    return path, write_lexicon(path, words), about


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--runs', default=os.path.join(HERE, 'runs'),
                   help='folder of the runs (one sub-folder per experiment)')
    p.add_argument('--minutes', type=float, default=small_scale.EXPERIMENTS[CTC].minutes,
                   help='training minutes of each of the three runs')
    p.add_argument('--distractors', type=int, default=10000,
                   help='random numbers in the lexicon besides the test numbers')
    p.add_argument('--seed', type=int, default=0, help='seed of the distractors')
    p.add_argument('--summary-only', action='store_true',
                   help='run nothing, only collect the figures of finished runs')
    args = p.parse_args(argv)
    if not 0 <= args.distractors <= NUMBER_SPACE // 2:
        p.error('--distractors must be 0 .. %d, got %d' % (NUMBER_SPACE // 2, args.distractors))
    cmd = ['--runs', args.runs, '--only'] + names() + ['--no-baselines', '--minutes'] + [
        '%s=%g' % (n, args.minutes) for n in names()]
    if args.summary_only:
        cmd.append('--summary-only')
    small_scale.main(cmd)          # 1 when no run has a report yet: the table says so
    status = 0
    if not args.summary_only:
        lexicon, sha, about = prepare_lexicon(args.runs, args.distractors, args.seed)
        status = evaluate_with_lexicon(args.runs, lexicon, sha, about)
    rows, missing = rows_of(args.runs)
    from chainer_see.atomic import write_text
    write_text(os.path.join(args.runs, 'head_comparison.json'),
               json.dumps({'rows': rows, 'not_done': [m[0] for m in missing]}, indent=1))
    write_text(os.path.join(args.runs, 'head_comparison.md'), table(rows, missing))
    if rows:
        plot(rows, os.path.join(args.runs, 'head_comparison.png'))
    print(table(rows, missing))
    return status or (0 if rows else 1)


if __name__ == '__main__':
    sys.exit(main())

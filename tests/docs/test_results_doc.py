"""docs/results.md's own commands, scaled down by options: section 1's train.py and
evaluate.py commands (runner.SMALL), the driver's summary of the finished run, and the
per-region IoU one-liner on the predictions.csv that evaluate.py wrote.  The driver's
experiment runs themselves (30 to 240 minutes each) are excluded in
test_documented_commands.py."""
import csv
import json
import shutil

import numpy
import pytest

from tests.docs import checks
from tests.docs.runner import run_doc

pytestmark = pytest.mark.slow

TRAIN = ('python train.py --dataset synthetic-svhn --out experiments/runs/svhn --time-limit 60 '
         '--iterations 1000000 --quiet --lr-final 1e-5 --lr-decay-start 0.6')
EVALUATE = ('python evaluate.py experiments/runs/svhn/model.npz --count 1000 '
            '--out experiments/runs/svhn/eval --visualize 16 --no-progress')
SUMMARY = 'python experiments/small_scale.py --summary-only'
REGION_IOUS = (
    'python -c "import csv, json, numpy, sys; print(numpy.array([json.loads(r[\'ious\']) '
    'for r in\ncsv.DictReader(open(sys.argv[1]))]).mean(axis=0).round(3))" '
    'experiments/runs/grid-layout/eval/predictions.csv')


def test_section_1_run_summary_and_region_ious(workdir):
    cwd = workdir()
    run_doc(TRAIN, cwd)
    checks.check_run_folder(str(cwd / 'experiments' / 'runs' / 'svhn'), 2, 'synthetic-svhn',
                            true_boxes=True)
    run_doc(EVALUATE, cwd)
    eval_dir = cwd / 'experiments' / 'runs' / 'svhn' / 'eval'
    report = checks.check_report(str(eval_dir), 8, true_boxes=True, visualized=8)

    # the driver's default --runs is the checkout's experiments/runs: pointed at the
    # working folder's instead, where the run above is
    proc = run_doc(SUMMARY, cwd, extra=['--runs', 'experiments/runs'])
    rows = [line for line in proc.stdout.splitlines() if line.startswith('| svhn |')]
    assert len(rows) == 1, proc.stdout
    assert rows[0].startswith('| svhn | 2 |')
    assert '%.3f' % report['mean_iou'] in rows[0]
    summary = json.load(open(str(cwd / 'experiments' / 'runs' / 'summary.json')))
    assert [r['experiment'] for r in summary] == ['svhn']

    # the one-liner reads the ious column of any evaluate.py predictions.csv
    target = cwd / 'experiments' / 'runs' / 'grid-layout' / 'eval'
    target.mkdir(parents=True)
    shutil.copy(str(eval_dir / 'predictions.csv'), str(target / 'predictions.csv'))
    proc = run_doc(REGION_IOUS, cwd)
    with open(str(target / 'predictions.csv'), newline='', encoding='utf-8') as f:
        ious = numpy.array([json.loads(r['ious']) for r in csv.DictReader(f)], numpy.float64)
    assert ious.shape == (8, 1)
    printed = numpy.array(proc.stdout.strip().strip('[]').split(), numpy.float64)
    numpy.testing.assert_allclose(printed, ious.mean(axis=0), atol=5e-4)

"""Run a documented command, scaled down by options only.

The command's own text is kept; the scale-down is done by

- appending the small options of its script (:data:`SMALL`) after the document's own
  (argparse keeps the last value, so ``--iterations 20000 ... --iterations 3`` runs 3);
- dropping ``--gpus X`` / ``--gpu X`` (there is no GPU in CI);
- running it in a folder where the inputs it names (``SVHN/``, ``FSNS/``, ``data/``,
  ``result/`` ...) exist as fixtures, with the repository's scripts called by their
  path in the checkout (``python train.py`` -> ``python ROOT/train.py``) and
  ``PYTHONPATH=ROOT`` so that ``python -m chainer_see...`` runs this checkout.
"""
import os
import shlex
import subprocess
import sys
import time

import pytest

from tests.docs.commands import ROOT, Command, collapse, command

#: options appended to every run of a script (by file name)
SMALL = {
    # one validation (at the end), one snapshot (the one written at the end): writing the
    # model and snapshot files is most of a tiny run's time
    'train.py': ['--iterations', '2', '--batch-size', '2', '--validation-size', '4',
                 '--test-interval', '2', '--snapshot-interval', '1000', '--plot-images', '1'],
    'evaluate.py': ['--count', '8', '--no-progress'],
    'generate.py': ['--count', '8', '--no-progress'],
    'prepare.py': ['--no-progress'],
    'predict.py': [],
    # one preset (the smallest), two images, one timed forward of each backend
    'bench_inference.py': ['--presets', 'svhn', '--batch-size', '2', '--repeats', '1',
                           '--warmup', '0'],
}
#: device options dropped with their value
DROPPED = ('--gpus', '--gpu')
#: the FSNS model (ResNet-18 on 600x150) is slow on a CPU: fewer iterations
FSNS_SMALL = ['--batch-size', '1']

TIMES = []   # (seconds, command) of every run, for the slowest-run summary


def argv_for(text, extra=()):
    """``text`` (a simple command) -> the argv that runs it here, scaled down."""
    tokens = shlex.split(text)
    out, i, script = [], 0, None
    while i < len(tokens):
        t = tokens[i]
        if t in DROPPED:
            i += 2
            continue
        if any(t.startswith(d + '=') for d in DROPPED):
            i += 1
            continue
        out.append(t)
        i += 1
    if out and out[0] in ('python', 'python3'):
        out[0] = sys.executable
        if len(out) > 1 and out[1].endswith('.py') and not os.path.isabs(out[1]):
            script = out[1]
            out[1] = os.path.join(ROOT, script)
    if script and '--help' not in out and '-h' not in out:
        out += SMALL.get(os.path.basename(script), [])
    return out + list(extra)


def environment():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['MPLBACKEND'] = 'Agg'
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def _tail(text, lines=25):
    return '\n'.join(text.rstrip().split('\n')[-lines:])


def execute(argv, cwd, expect=0, timeout=600, label=None):
    """Run ``argv`` in ``cwd``; fail the test (with the output tails) unless the exit
    status is ``expect`` (``None``: any).  Returns the ``CompletedProcess``."""
    start = time.time()
    try:
        proc = subprocess.run(argv, cwd=str(cwd), env=environment(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail('%s: no end after %d s\n--- stdout tail ---\n%s\n--- stderr tail ---\n%s'
                    % (label or argv, timeout, _tail(e.stdout or ''), _tail(e.stderr or '')))
    TIMES.append((time.time() - start, label or ' '.join(argv)))
    if expect is not None and proc.returncode != expect:
        pytest.fail('%s\n  ran as: %s\n  in %s\nexit status %d (expected %d)\n'
                    '--- stdout tail ---\n%s\n--- stderr tail ---\n%s'
                    % (label or '', ' '.join(shlex.quote(a) for a in argv), cwd,
                       proc.returncode, expect, _tail(proc.stdout), _tail(proc.stderr)),
                    pytrace=False)
    return proc


def run_doc(text, cwd, extra=(), expect=0, doc=None):
    """Run the documented command ``text`` (it must be in the documents) in ``cwd``."""
    cmd = command(text, doc)
    label = '%s:%d: %s' % (cmd.doc, cmd.line, cmd.text)
    if cmd.kind == 'shell':
        assert not extra, 'shell commands take no extra options'
        return execute(['bash', '-e', '-o', 'pipefail', '-c', cmd.text], cwd, expect, label=label)
    return execute(argv_for(cmd.text, extra), cwd, expect, label=label)


def run_args(script, args, cwd, expect=0, extra=()):
    """Run ``python SCRIPT ARGS`` (not a documented command: a user's own variant),
    scaled down the same way."""
    text = ' '.join(['python', script] + [shlex.quote(str(a)) for a in args])
    return execute(argv_for(text, extra), cwd, expect, label=collapse(text))


__all__ = ['Command', 'SMALL', 'FSNS_SMALL', 'argv_for', 'execute', 'run_doc', 'run_args',
           'TIMES']

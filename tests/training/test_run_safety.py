"""Runs are safe: one run per ``--out`` folder (ownership, ``--overwrite``, the lock),
``--resume`` never starts over, ``model.npz`` is written before and independently of the
snapshot, a full disk is one line, the last good snapshot can be resumed, an interrupted
run has its own exit status, ``--out`` naming a file is refused before any work."""
import errno
import fnmatch
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy
import pytest

import chainer

from chainer_see import read_model_info
from chainer_see.training import build, cli, run_folder, snapshots
from chainer_see.training.extensions.nan_guard import NonFiniteError
from tests.training.helpers import SMALL, at_iteration, crashing_run, crops_levels, small_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def argv(out, *flags, **options):
    """``train.py`` arguments: a few iterations of the small model (see ``small_cli``)
    into ``out``; ``options`` (``snapshot_interval=100``) replace the defaults."""
    opts = dict(model='svhn', iterations=4, batch_size=2, test_interval=2, plot_images=0)
    opts.update(options)
    args = ['--out', str(out), '--quiet'] + list(flags)
    for key, value in opts.items():
        args += ['--' + key.replace('_', '-'), str(value)]
    return args


@pytest.fixture
def small_cli(monkeypatch):
    """``cli.main`` trains the small model of ``helpers`` on small crops; the returned list
    takes Trainer extensions added to every run ``main`` builds."""
    extra = []

    class Small(build.SEETraining):
        def __init__(self, options, **kw):
            kw.setdefault('levels', crops_levels())
            kw.setdefault('config_overrides', SMALL)
            super(Small, self).__init__(options, **kw)

        def _setup_trainer(self):
            super(Small, self)._setup_trainer()
            for ext in extra:
                self.trainer.extend(ext)

    monkeypatch.setattr(build, 'SEETraining', Small)
    return extra


def no_work(monkeypatch):
    """Make building the data fail loudly: a check that passes it came too late."""
    def fail(self):
        raise AssertionError('the data were built before the check')
    monkeypatch.setattr(build.SEETraining, '_setup_data', fail)


def exit_status(argv):
    """``cli.main``'s status, whether returned or raised as ``SystemExit``."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return e.code


def error_lines(capsys):
    err = capsys.readouterr().err
    assert 'Traceback' not in err, err
    return [line for line in err.splitlines() if line.strip()]


def contents(folder):
    """``{relative path: bytes}`` of every file under ``folder``."""
    found = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


# ---------------------------------------------------------------------- --out a file
def test_out_naming_a_file_exits_2_before_any_work(tmp_path, monkeypatch, capsys):
    target = tmp_path / 'notes.txt'
    target.write_text('mine')
    no_work(monkeypatch)
    for extra in ([], ['--resume']):
        assert exit_status(['--out', str(target)] + extra) == 2
        lines = error_lines(capsys)
        assert len(lines) == 1 and lines[0].startswith('train.py: error: --out %s is a file'
                                                       % target), lines
    assert target.read_text() == 'mine'
    with pytest.raises(run_folder.RunFolderError, match='is a file'):     # programmatic use
        small_run(target, levels=crops_levels(), model='svhn')


# ---------------------------------------------------------------------- ownership
@pytest.mark.parametrize('mark', ['config.json', 'model.npz', 'snapshot_iter_00000010.npz'])
def test_each_mark_of_a_run_makes_a_folder_taken(tmp_path, mark):
    (tmp_path / 'notes.txt').write_text('not a run')
    (tmp_path / 'eval').mkdir()
    run_folder.claim(str(tmp_path)).release()            # notes and eval/ are no run
    (tmp_path / mark).write_bytes(b'x')
    with pytest.raises(run_folder.RunFolderError,
                       match=r'holds another run \(%s\); continue it with --resume, replace '
                             r'it with --overwrite' % ('1 snapshot' if 'snapshot' in mark
                                                       else mark)):
        run_folder.claim(str(tmp_path))
    assert not (tmp_path / '.lock').exists()             # given back with the refusal


def test_new_run_refuses_a_folder_holding_another_run(tmp_path, small_cli, monkeypatch,
                                                      capsys):
    out = str(tmp_path / 'run')
    assert exit_status(argv(out, iterations=6, keep_snapshots=2)) == 0
    capsys.readouterr()
    before = contents(out)
    assert set(before) >= {'config.json', 'model.npz', 'log', 'snapshot_iter_00000004.npz',
                           'snapshot_iter_00000006.npz'}
    no_work(monkeypatch)
    assert exit_status(argv(out)) == 2
    lines = error_lines(capsys)
    assert lines == ['train.py: error: %s holds another run (config.json, model.npz, '
                     '2 snapshots); continue it with --resume, replace it with --overwrite, '
                     'or choose another --out' % out]
    assert contents(out) == before                       # nothing touched, no lock left


def test_overwrite_replaces_the_old_run_and_keeps_other_files(tmp_path, small_cli, capsys):
    out = tmp_path / 'run'
    assert exit_status(argv(out, iterations=6, test_interval=6, plot_images=1,
                            plot_interval=6)) == 0
    (out / 'notes.txt').write_text('keep me')
    (out / 'eval').mkdir()
    (out / 'eval' / 'report.json').write_text('{}')
    assert (out / 'boxes' / 'iter_000006.png').exists()
    capsys.readouterr()
    assert exit_status(argv(out, '--overwrite', test_interval=1, keep_snapshots=2,
                            iterations=3)) == 0
    err = capsys.readouterr().err
    assert '--overwrite: removed the previous run from %s (' % out in err
    # the new run's snapshots were kept, not pruned in favour of the old run's 6
    assert [i for i, _ in snapshots.list_snapshots(str(out))] == [2, 3]
    assert [e['iteration'] for e in json.load(open(str(out / 'log')))
            if e['iteration'] > 0] == [1, 2, 3]
    assert read_model_info(str(out / 'model.npz'))[1]['iteration'] == 3
    assert json.load(open(str(out / 'config.json')))['options']['iterations'] == 3
    assert not (out / 'boxes').exists()                  # the old run's pictures went
    assert (out / 'notes.txt').read_text() == 'keep me'
    assert (out / 'eval' / 'report.json').exists()
    assert not (out / '.lock').exists()


def test_overwrite_and_resume_contradict_each_other(tmp_path, capsys):
    assert exit_status(['--out', str(tmp_path), '--overwrite', '--resume']) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1 and '--overwrite and --resume contradict' in lines[0]


def test_resume_ignores_overwrite_in_config_json(tmp_path):
    with open(str(tmp_path / 'config.json'), 'w') as f:
        json.dump({'options': {'overwrite': True, 'batch_size': 3}}, f)
    _, args = cli.parse_args(['--out', str(tmp_path), '--resume'])
    assert args.batch_size == 3 and args.overwrite is False


# ---------------------------------------------------------------------- the lock
HOLDER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, %r)
    from chainer_see.training.run_folder import FolderLock
    FolderLock(sys.argv[1]).acquire()
    print('locked', flush=True)
    time.sleep(60)
''') % ROOT


def test_a_folder_in_use_is_refused_and_a_stale_lock_taken_over(tmp_path, small_cli, capsys):
    out = str(tmp_path / 'run')
    os.makedirs(out)
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, out], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        assert exit_status(argv(out)) == 2
        lines = error_lines(capsys)
        assert lines == ['train.py: error: %s is in use by process %d (lock file %s); wait '
                         'for it to end or choose another --out'
                         % (out, holder.pid, os.path.join(out, '.lock'))]
        assert os.listdir(out) == ['.lock']              # nothing of ours written
    finally:
        holder.kill()                                    # SIGKILL: the lock file stays
        holder.wait()
    with open(os.path.join(out, '.lock')) as f:
        assert int(f.read().split()[0]) == holder.pid
    assert exit_status(argv(out)) == 0
    err = capsys.readouterr().err
    assert ('train.py: took over the stale lock %s of process %d, which no longer holds it'
            % (os.path.join(out, '.lock'), holder.pid)) in err
    assert not os.path.exists(os.path.join(out, '.lock'))     # given back at the end


def test_two_runs_in_one_process_and_a_lock_given_back_on_error(tmp_path):
    first = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=6,
                      plot_images=0)
    assert open(str(tmp_path / '.lock')).read().split()[0] == str(os.getpid())
    with pytest.raises(run_folder.RunFolderError,
                       match='is in use by process %d' % os.getpid()):
        small_run(tmp_path, levels=crops_levels(), model='svhn')

    def crash():
        raise RuntimeError('disk on fire')
    first.trainer.extend(at_iteration(3, crash))
    with pytest.raises(RuntimeError, match='disk on fire'):
        first.run()
    assert not (tmp_path / '.lock').exists()
    second = small_run(tmp_path, levels=crops_levels(), model='svhn', resume=True,
                       plot_images=0)
    assert second.resume() is not None and second.updater.iteration == 3
    del second                       # built, never run: the lock goes with the object
    gc.collect()
    assert not (tmp_path / '.lock').exists()


# ---------------------------------------------------------------------- --resume
def _two_snapshots(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=4,
                    keep_snapshots=0, plot_images=0)
    run.run()
    return [p for _, p in snapshots.list_snapshots(str(tmp_path))]


def test_resume_names_the_snapshot_it_skips(tmp_path):
    older, newest = _two_snapshots(tmp_path)
    with open(newest, 'r+b') as f:
        f.truncate(os.path.getsize(newest) // 2)
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=4,
                    plot_images=0, resume=True)
    assert [line for line in run.lines if 'skipped' in line] == [
        '--resume: skipped %s: unreadable: not a complete zip archive (File is not a zip '
        'file)' % newest]
    assert run.resume() == older and run.updater.iteration == 2


def test_resume_without_a_readable_snapshot_exits_2(tmp_path, small_cli, monkeypatch, capsys):
    out = str(tmp_path)
    assert exit_status(argv(out, keep_snapshots=0)) == 0
    for _, path in snapshots.list_snapshots(out):
        with open(path, 'r+b') as f:
            f.truncate(100)
    before = contents(out)
    capsys.readouterr()
    no_work(monkeypatch)
    assert exit_status(['--out', out, '--resume']) == 2
    lines = error_lines(capsys)
    assert lines == ['train.py: error: --resume: no readable snapshot in %s '
                     '(snapshot_iter_00000004.npz: unreadable: not a complete zip archive '
                     '(File is not a zip file); snapshot_iter_00000002.npz: unreadable: not a '
                     'complete zip archive (File is not a zip file)); start a new run with '
                     '--overwrite or another --out' % out]
    assert contents(out) == before                       # model.npz not overwritten
    empty = str(tmp_path / 'empty')
    assert exit_status(['--out', empty, '--resume']) == 2
    assert error_lines(capsys) == ['train.py: error: --resume: no readable snapshot in %s '
                                   '(no such folder); start a new run without --resume'
                                   % empty]
    assert not os.path.exists(empty)


# ---------------------------------------------------------------------- writes after errors
class _NoSpace(object):
    """A file object that takes ``room`` bytes, then fails as on a full disk."""

    def __init__(self, f, room):
        self._f = f
        self._room = room

    def write(self, data):
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
        return False


def full_disk(monkeypatch, *targets, room=20000):
    """Writes of ``atomic_file`` to the files named ``targets`` (glob patterns of the
    final names) fail with ENOSPC after ``room`` bytes (a disk filling up half-way);
    ``os.replace`` records the files that were written."""
    real_fdopen, real_replace = os.fdopen, os.replace
    written = []

    def fdopen(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        name = os.path.basename(os.readlink('/proc/self/fd/%d' % fd))
        if any(fnmatch.fnmatch(name, '.%s.*.tmp' % t) for t in targets):
            return _NoSpace(f, room)
        return f

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        written.append(os.path.basename(dst))
    monkeypatch.setattr(os, 'fdopen', fdopen)
    monkeypatch.setattr(os, 'replace', replace)
    return written


def test_after_an_error_the_model_is_written_before_the_snapshot(tmp_path, monkeypatch):
    written = full_disk(monkeypatch)
    run = crashing_run(tmp_path)
    with pytest.raises(RuntimeError, match='disk on fire'):
        run.run()
    assert [n for n in written if n.endswith('.npz')] == ['model.npz',
                                                          'snapshot_iter_00000003.npz']
    assert [e for _, e in run.saves] == [None, None]
    assert any(line.startswith('after the error: %s written, %s written'
                               % (tmp_path / 'model.npz',
                                  tmp_path / 'snapshot_iter_00000003.npz'))
               for line in run.lines)


@pytest.mark.parametrize('full, kept', [('model.npz', 'snapshot_iter_00000003.npz'),
                                        ('snapshot_iter_*.npz', 'model.npz')])
def test_after_an_error_one_failed_write_does_not_stop_the_other(tmp_path, monkeypatch,
                                                                 full, kept):
    written = full_disk(monkeypatch, full)
    run = crashing_run(tmp_path)
    with pytest.raises(RuntimeError, match='disk on fire'):
        run.run()
    assert [n for n in written if n.endswith('.npz')] == [kept]
    (path, error), = [(p, e) for p, e in run.saves if e is not None]
    assert fnmatch.fnmatch(os.path.basename(path), full)
    assert error.errno == errno.ENOSPC and error.filename == path
    assert sorted(n for n in os.listdir(str(tmp_path)) if n.endswith('.tmp')) == []
    if kept == 'model.npz':
        assert read_model_info(str(tmp_path / 'model.npz'))[1]['iteration'] == 3


@pytest.mark.filterwarnings('error::pytest.PytestUnraisableExceptionWarning')
@pytest.mark.parametrize('interval', [2, 100])     # during training / at the end
def test_a_full_disk_is_one_line_and_exit_1(tmp_path, small_cli, monkeypatch, capsys,
                                            interval):
    out = str(tmp_path)
    full_disk(monkeypatch, 'snapshot_iter_*.npz')
    assert exit_status(argv(out, snapshot_interval=interval)) == 1
    gc.collect()             # the failed archives go now: no second traceback from them
    it = 2 if interval == 2 else 4
    snap = os.path.join(out, snapshots.snapshot_name(it))
    model = os.path.join(out, 'model.npz')
    lines = error_lines(capsys)
    expected = ('train.py: error: %s: no space left on device; %s written, %s not written '
                '(no space left on device)' % (snap, model, snap))
    assert lines == [expected]
    assert read_model_info(model)[1]['iteration'] == it
    assert not [n for n in os.listdir(out) if n.endswith('.tmp') or n == '.lock']


@pytest.mark.filterwarnings('error::pytest.PytestUnraisableExceptionWarning')
def test_a_full_disk_for_both_says_neither_was_written(tmp_path, small_cli, monkeypatch,
                                                       capsys):
    out = str(tmp_path)
    full_disk(monkeypatch, 'snapshot_iter_*.npz', 'model.npz')
    assert exit_status(argv(out)) == 1
    gc.collect()
    snap, model = os.path.join(out, snapshots.snapshot_name(2)), os.path.join(out, 'model.npz')
    assert error_lines(capsys) == [
        'train.py: error: %s: no space left on device; %s not written (no space left on '
        'device), %s not written (no space left on device)' % (snap, model, snap)]
    assert not os.path.exists(model)


# ---------------------------------------------------------------------- the last good snapshot
def _poison(run, iteration, change):
    """``change(loss, parts)`` applied to the training loss of ``iteration``."""
    real = run.chain.loss
    calls = []

    def poisoned(output, labels):
        loss, parts = real(output, labels)
        if chainer.config.train:
            calls.append(1)
            if len(calls) == iteration:
                loss, parts = change(loss, parts)
        return loss, parts
    run.chain.loss = poisoned


def test_blown_up_weights_are_never_the_last_good_snapshot(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=6,
                    snapshot_interval=1, keep_snapshots=0, plot_images=0, test_interval=100)

    def blow_up():                    # finite, but no training goes on from here
        for _, p in run.model.namedparams():
            p.array *= numpy.float32(1e20)
    run.trainer.extend(at_iteration(3, blow_up))
    _poison(run, 4, lambda loss, parts: (loss * numpy.float32('nan'),
                                         dict(parts, loss=float('nan'))))
    with pytest.raises(NonFiniteError) as e:
        run.run()
    assert 'training diverged at iteration' in str(e.value)
    assert 'the last good snapshot is %s' % snapshots.snapshot_name(2) in str(e.value)
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [1, 2]
    assert any(line.startswith('snapshot of iteration 3 withheld: parameter ') and
               'in magnitude (bound 1e+06)' in line for line in run.lines)
    # the resume the message recommends goes on
    again = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=4,
                      plot_images=0, test_interval=100, resume=True)
    again.run()
    assert again.updater.iteration == 4
    assert read_model_info(str(tmp_path / 'model.npz'))[1]['finished'] is True


def test_a_loss_spike_withholds_the_snapshot(tmp_path):
    run = small_run(tmp_path, levels=crops_levels(), model='svhn', iterations=8,
                    snapshot_interval=1, keep_snapshots=0, plot_images=0, test_interval=100)
    _poison(run, 7, lambda loss, parts: (loss, dict(parts, loss=1e4)))
    run.run()
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [1, 2, 3, 4, 5, 6, 8]
    withheld = [line for line in run.lines if 'withheld' in line]
    assert len(withheld) == 1 and withheld[0].startswith(
        'snapshot of iteration 7 withheld: the loss 1e+04 is more than 10 times the median ')
    assert withheld[0].endswith('of the last 6 iterations; the newest good one is %s'
                                % (tmp_path / snapshots.snapshot_name(6)))


# ---------------------------------------------------------------------- exit statuses
class Signal(chainer.training.Extension):
    trigger = (1, 'iteration')

    def __init__(self, iteration, signum):
        self.iteration, self.signum = iteration, signum

    def __call__(self, trainer):
        if trainer.updater.iteration == self.iteration:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize('signum, name', [(signal.SIGINT, 'Ctrl-C'),
                                          (signal.SIGTERM, 'SIGTERM')])
def test_an_interrupted_run_exits_130_after_writing(tmp_path, small_cli, capsys, signum,
                                                    name):
    out = str(tmp_path)
    small_cli.append(Signal(2, signum))
    assert exit_status(argv(out, snapshot_interval=100)) == 130
    assert error_lines(capsys) == [
        'train.py: interrupted (%s) at iteration 2; model.npz and the snapshot are in %s, '
        '--resume goes on' % (name, out)]
    meta = read_model_info(os.path.join(out, 'model.npz'))[1]
    assert meta['iteration'] == 2 and meta['finished'] is False
    assert snapshots.latest_snapshot(out).endswith(snapshots.snapshot_name(2))
    assert not os.path.exists(os.path.join(out, '.lock'))


def test_a_run_ended_by_its_time_limit_exits_0(tmp_path, small_cli, capsys):
    out = str(tmp_path)
    assert exit_status(argv(out, time_limit='1e-6')) == 0
    assert error_lines(capsys) == []
    meta = read_model_info(os.path.join(out, 'model.npz'))[1]
    assert meta['iteration'] < 4 and meta['finished'] is True


def test_help_states_the_rules():
    text = ' '.join(cli.build_parser().format_help().split())
    for phrase in ('--overwrite', 'holds another run', '.lock', 'never starts over',
                   'a snapshot is written only from a sound state', 'at most 1e6 in magnitude',
                   '10 x the median loss of the 50 iterations before',
                   '130 interrupted by Ctrl-C or SIGTERM', '0 done',
                   '1 a file could not be written', '--out naming a file is refused'):
        assert phrase in text, phrase
    doc = ' '.join(cli.__doc__.split())
    assert '130: interrupted by Ctrl-C or SIGTERM' in doc and '1: a file could not' in doc


def test_resume_with_options_that_build_another_model_exits_2(tmp_path, capsys):
    out = str(tmp_path / 'run')
    small = ['--iterations', '2', '--batch-size', '2', '--validation-size', '2',
             '--test-interval', '2', '--plot-images', '0', '--quiet']
    assert exit_status(['--out', out] + small) == 0
    before = contents(out)
    capsys.readouterr()
    # the snapshot holds the svhn reader (11 classes); these options build the FSNS one
    assert exit_status(['--out', out, '--resume', '--dataset', 'synthetic-fsns',
                        '--batch-size', '1', '--validation-size', '1']) == 2
    lines = error_lines(capsys)
    assert len(lines) == 1
    assert lines[0].startswith('train.py: error: --resume: %s' % os.path.join(
        out, 'snapshot_iter_00000002.npz'))
    assert 'does not fit the run these options build' in lines[0]
    assert 'config.json' in lines[0]
    assert contents(out) == before

"""Snapshots: a kill during a write leaves the previous one loadable; the newest
readable one is found; non-finite weights are never written."""
import os
import subprocess
import sys
import textwrap

import numpy
import pytest

import chainer

from chainer_see import atomic
from chainer_see.training import snapshots
from chainer_see.training.extensions.nan_guard import NonFiniteError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Target(chainer.Chain):
    def __init__(self, value):
        super(Target, self).__init__()
        with self.init_scope():
            self.lin = chainer.links.Linear(3, 2000)
        self.lin.b.array[:] = value


def test_kill_during_a_write_keeps_the_previous_snapshot(tmp_path):
    good = tmp_path / snapshots.snapshot_name(10)
    snapshots.save_npz_atomic(str(good), Target(1.0))
    # a second process starts writing iteration 20 and is killed (SIGKILL) half-way
    script = textwrap.dedent('''
        import os, signal, sys
        sys.path.insert(0, %r)
        import numpy
        import chainer_see
        from chainer_see.training import snapshots
        real = numpy.savez_compressed
        def dying(f, **arrays):
            f.write(b'PK\\x03\\x04' + b'x' * 100000)    # the start of a zip, then death
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        numpy.savez_compressed = numpy.savez = dying
        import chainer
        lin = chainer.links.Linear(3, 2000)
        snapshots.save_npz_atomic(%r, lin)
    ''' % (ROOT, str(tmp_path / snapshots.snapshot_name(20))))
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    names = sorted(os.listdir(str(tmp_path)))
    assert snapshots.snapshot_name(20) not in names          # never under its final name
    assert any(n.endswith('.tmp') for n in names)            # the debris of the killed write
    assert snapshots.latest_snapshot(str(tmp_path)) == str(good)
    t = Target(0.0)
    chainer.serializers.load_npz(snapshots.latest_snapshot(str(tmp_path)), t)
    assert float(t.lin.b.array[0]) == 1.0
    snapshots.remove_stale_temporaries(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path))) == [snapshots.snapshot_name(10)]


def test_latest_snapshot_skips_a_truncated_file(tmp_path):
    for it in (5, 10):
        snapshots.save_npz_atomic(str(tmp_path / snapshots.snapshot_name(it)), Target(it))
    newest = tmp_path / snapshots.snapshot_name(10)
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 2])        # e.g. copied by hand, cut short
    assert not snapshots.is_readable(str(newest))
    assert snapshots.latest_snapshot(str(tmp_path)) == str(tmp_path / snapshots.snapshot_name(5))
    assert snapshots.latest_snapshot(str(tmp_path / 'nothing')) is None


def test_snapshot_extension_keeps_the_newest_and_refuses_nan(tmp_path):
    target = Target(0.5)

    class FakeTrainer(object):
        out = str(tmp_path)
        updater = type('U', (), {'iteration': 0})()

        def serialize(self, serializer):
            target.serialize(serializer['model'])

    trainer = FakeTrainer()
    ext = snapshots.Snapshot(keep=2, check=target)
    for it in (1, 2, 3):
        trainer.updater.iteration = it
        ext(trainer)
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [2, 3]
    assert oct(os.stat(ext.last).st_mode & 0o777) == oct(0o666 & ~atomic._umask())
    trainer.updater.iteration = 4
    target.lin.W.array[0, 0] = numpy.nan
    with pytest.raises(NonFiniteError, match='lin/W'):
        ext(trainer)
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [2, 3]
    assert snapshots.read_value(ext.last, 'model/lin/b')[0] == pytest.approx(0.5)


def test_snapshot_problem_tells_unreadable_from_corrupt(tmp_path):
    path = str(tmp_path / snapshots.snapshot_name(1))
    snapshots.save_npz_atomic(path, Target(1.0), compression=False)
    assert snapshots.snapshot_problem(path) is None
    data = bytearray(open(path, 'rb').read())
    data[len(data) // 3] ^= 0xFF                     # one flipped byte inside lin/W
    open(path, 'wb').write(bytes(data))
    assert snapshots.snapshot_problem(path) == 'corrupt: member lin/W.npy fails its CRC check'
    open(path, 'wb').write(b'')
    assert snapshots.snapshot_problem(path).startswith('unreadable: not a complete zip')
    assert snapshots.find_resumable(str(tmp_path)) == (
        None, [(path, snapshots.snapshot_problem(path))])


def test_on_error_writes_the_model_first_and_the_snapshot_whatever_happens(tmp_path):
    target = Target(0.5)
    order = []

    class FakeTrainer(object):
        out = str(tmp_path)
        updater = type('U', (), {'iteration': 7})()

        def serialize(self, serializer):
            order.append('snapshot')
            target.serialize(serializer['model'])

    def model_fails(trainer):
        order.append('model')
        raise OSError(28, 'No space left on device', str(tmp_path / 'model.npz'))

    ext = snapshots.Snapshot(on_error_save=model_fails)
    ext.on_error(FakeTrainer(), RuntimeError('boom'), None)     # nothing escapes
    assert order == ['model', 'snapshot']
    assert [(os.path.basename(p), e is None) for p, e in ext.error_saves] == [
        ('model.npz', False), (snapshots.snapshot_name(7), True)]
    assert snapshots.describe_saves(ext.error_saves) == (
        '%s not written (no space left on device), %s written'
        % (tmp_path / 'model.npz', tmp_path / snapshots.snapshot_name(7)))
    ext.on_error(FakeTrainer(), NonFiniteError('nan'), None)    # nothing from NaN weights
    assert ext.error_saves == [] and order == ['model', 'snapshot']


def test_an_unsound_state_is_withheld(tmp_path):
    target = Target(0.5)
    lines = []

    class FakeTrainer(object):
        out = str(tmp_path)
        updater = type('U', (), {'iteration': 1})()

        def serialize(self, serializer):
            target.serialize(serializer['model'])

    trainer = FakeTrainer()
    verdict = {1: None, 2: 'too big'}
    ext = snapshots.Snapshot(keep=1, health=lambda t: verdict[t.updater.iteration],
                             log=lines.append)
    ext(trainer)
    trainer.updater.iteration = 2
    assert ext.write(trainer) == str(tmp_path / snapshots.snapshot_name(1))
    with pytest.raises(snapshots.SnapshotWithheld, match='withheld: too big'):
        ext.write_now(trainer)
    assert [i for i, _ in snapshots.list_snapshots(str(tmp_path))] == [1]
    assert lines[0] == ('snapshot of iteration 2 withheld: too big; the newest good one is %s'
                        % (tmp_path / snapshots.snapshot_name(1)))


def test_atomic_file_names_the_target_when_the_disk_is_full(tmp_path, monkeypatch):
    import errno

    def no_space(f, **arrays):
        f.write(b'PK\x03\x04')
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(numpy, 'savez_compressed', no_space)
    monkeypatch.setattr(numpy, 'savez', no_space)
    path = str(tmp_path / snapshots.snapshot_name(3))
    with pytest.raises(OSError) as e:
        snapshots.save_npz_atomic(path, Target(1.0))
    assert e.value.errno == errno.ENOSPC and e.value.filename == path
    assert snapshots.describe_error(e.value) == '%s: no space left on device' % path
    assert os.listdir(str(tmp_path)) == []                # no temporary file left

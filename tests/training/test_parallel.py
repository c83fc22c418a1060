"""The multi-GPU updater's worker pipe runs 'call' messages between updates (CPU)."""
import multiprocessing

from chainer_see.training.parallel import _Pipe


def _record(worker, value):
    worker.seen.append(value)


def test_worker_pipe_runs_calls_in_order_and_returns_other_jobs():
    class Worker(object):
        seen = []

    master, end = multiprocessing.Pipe()
    pipe = _Pipe(end, Worker())
    master.send(('call', (_record, (1,))))
    master.send(('call', (_record, (2,))))
    master.send(('update', None))
    master.send(('finalize', None))
    assert pipe.recv() == ('update', None)
    assert Worker.seen == [1, 2]
    assert pipe.recv() == ('finalize', None)

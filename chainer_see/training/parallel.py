"""Data-parallel training on several GPUs of one machine (``--gpus 0,1,2,3``).

``SEEMultiprocessUpdater`` is Chainer's ``MultiprocessParallelUpdater`` (one worker
process per extra GPU, gradients summed and parameters broadcast with NCCL after each
update) with two additions SEE's training needs:

* **Reconfiguring the replicas between updates**: the curriculum changes the number
  of regions (the workers' ``levels.LevelIterator`` read the level of their copy of
  the run's ``Curriculum``, which the function sent sets), a localization restart
  re-initializes the recognition network.  Trainer extensions run in the master process only, so
  ``on_replicas(fn, *args)`` sends ``fn`` (a picklable module-level function) to every
  worker, where ``fn(worker, *args)`` runs between two updates with ``worker.model``
  (the ``TrainChain``), ``worker.iterator``, ``worker.proc_id`` and ``worker.context``
  (the ``replica_context`` given to the updater, copied into the workers when they
  start).  Before the workers start, the master's own objects are what they will copy,
  so nothing is sent.
* **Mean gradients**: each device's loss is scaled by ``1 / devices``
  (``TrainChain.loss_scale``), so the NCCL sum is the gradient of the global batch
  mean, as on one device; weight decay and gradient clipping at norm 2 then act as
  they do on one device, and the base class's change of Adam's ``eps`` is undone.

This path needs NCCL and several GPUs; it has not been run on this project's CI (no
GPU).  The ChainerMN path (``--mpi``) reaches the same result with one process per
GPU and is tested on CPU.
"""
import multiprocessing

import chainer
from chainer.training.updaters import multiprocess_parallel_updater as mpu


class _Pipe(object):
    """A worker's end of the pipe that runs ``('call', (fn, args))`` messages itself."""

    def __init__(self, pipe, worker):
        self._pipe = pipe
        self._worker = worker

    def recv(self):
        while True:
            job, data = self._pipe.recv()
            if job != 'call':
                return job, data
            fn, args = data
            fn(self._worker, *args)

    def send(self, message):
        self._pipe.send(message)


class _Worker(mpu._Worker):

    def __init__(self, proc_id, pipe, master):
        super(_Worker, self).__init__(proc_id, pipe, master)
        self.context = master.replica_context
        self.pipe = _Pipe(pipe, self)


class SEEMultiprocessUpdater(mpu.MultiprocessParallelUpdater):
    """``MultiprocessParallelUpdater`` whose workers can be reconfigured (module doc).

    Args:
        iterators: one training iterator per device (equal dataset lengths).
        optimizer: set up on the ``TrainChain`` (on the CPU until the first update).
        devices: device specifiers, the master's first.
        converter: batch converter.
        replica_context: any object the workers' ``fn`` calls need (copied at fork).
    """

    def __init__(self, iterators, optimizer, devices, converter=chainer.dataset.concat_examples,
                 replica_context=None):
        eps = getattr(optimizer, 'eps', None)
        super(SEEMultiprocessUpdater, self).__init__(iterators, optimizer, converter=converter,
                                                     devices=devices)
        if eps is not None:          # gradients are means (loss_scale), not sums
            optimizer.eps = eps
        self.replica_context = replica_context

    @property
    def started(self):
        return self._initialized

    def on_replicas(self, fn, *args):
        """Run ``fn(worker, *args)`` in every started worker (no-op before the start)."""
        if self._initialized:
            self._send_message(('call', (fn, args)))

    def setup_workers(self):
        # As the base class, with workers that understand 'call' messages.
        if self._initialized:
            return
        self._initialized = True
        self._master.cleargrads()
        for i in range(1, len(self._devices)):
            pipe, worker_end = multiprocessing.Pipe()
            worker = _Worker(i, worker_end, self)
            worker.start()
            self._workers.append(worker)
            self._pipes.append(pipe)
        with chainer.using_device(self._devices[0]):
            self._master.to_device(self._devices[0])
            if len(self._devices) > 1:
                comm_id = mpu.nccl.get_unique_id()
                self._send_message(('set comm_id', comm_id))
                self.comm = mpu.nccl.NcclCommunicator(len(self._devices), comm_id, 0)

"""From ``--gpus`` / ``--mpi`` to a device plan: which device(s), which updater, which
communicator.

``plan_devices`` is a pure function (no CUDA, no MPI calls), so every branch is
unit-tested on a machine without GPUs; ``check_plan`` then asks the installed CuPy /
ChainerMN whether the plan can run here and says what is missing in one line.

=========================  ==========  ====================  ============  ===========
command                    mode        updater               communicator  device
=========================  ==========  ====================  ============  ===========
(no ``--gpus``)            cpu         standard              --            ``@numpy``
``--gpus 0``               gpu         standard              --            ``@cupy:0``
``--gpus 0,1,2,3``         multi-gpu   multiprocess          (NCCL)        ``@cupy:0`` +
                                                                           workers 1-3
``mpiexec -n K ... --mpi``  mpi        standard + MN optim.  ``naive``     ``@numpy``
``... --mpi --gpus 0,1``    mpi        standard + MN optim.  ``pure_nccl`` ``@cupy:g``
=========================  ==========  ====================  ============  ===========

With ``--mpi --gpus LIST`` process ``intra_rank`` (its index among the processes of
its machine) uses ``LIST[intra_rank]``; start at most ``len(LIST)`` processes per
machine.  ``--batch-size`` is per device (per process), so the global batch is
``batch_size * world_size``.
"""
import collections

CPU = '@numpy'

DevicePlan = collections.namedtuple('DevicePlan', [
    'mode', 'device', 'devices', 'updater', 'communicator', 'rank', 'size'])
DevicePlan.__doc__ = """How this process trains.

mode: ``'cpu'``, ``'gpu'``, ``'multi-gpu'`` or ``'mpi'``.
device: Chainer device specifier of this process (``'@numpy'``, ``'@cupy:1'``).
devices: all devices of the data-parallel group that this process drives (the
    multiprocess updater: first = the master's); ``[device]`` otherwise.
updater: ``'standard'`` or ``'multiprocess'``.
communicator: ChainerMN communicator name (``'naive'``, ``'pure_nccl'``) or ``None``.
rank, size: this process's index and the number of data-parallel replicas (the number
    of devices of the multiprocess updater, the MPI world size, else 0 and 1).
"""


def is_writer(plan):
    """Whether this process writes logs, plots, snapshots and the model (rank 0)."""
    return plan.rank == 0


def parse_gpus(text):
    """``'0,1,2,3'`` -> ``[0, 1, 2, 3]``; ``None``, ``''``, ``'none'``, ``'cpu'`` or ``'-1'``
    -> ``[]`` (CPU).  ``ValueError`` (one line) for anything else."""
    if text is None:
        return []
    text = str(text).strip()
    if text.lower() in ('', 'none', 'cpu', '-1'):
        return []
    ids = []
    for part in text.split(','):
        part = part.strip()
        if not part.isdigit():
            raise ValueError('--gpus takes GPU ids separated by commas (e.g. 0 or 0,1,2,3), '
                             'got %r' % text)
        ids.append(int(part))
    if len(set(ids)) != len(ids):
        raise ValueError('--gpus lists a GPU twice: %r' % text)
    return ids


def plan_devices(gpus=None, mpi=False, rank=0, size=1, intra_rank=0):
    """The ``DevicePlan`` of this process.

    Args:
        gpus: ``--gpus`` text (``None`` = CPU) or a list of ids.
        mpi (bool): ``--mpi`` (ChainerMN; one process per device, started by mpiexec).
        rank, size, intra_rank: the MPI communicator's values (only with ``mpi``).
    """
    ids = gpus if isinstance(gpus, (list, tuple)) else parse_gpus(gpus)
    if not mpi:
        if not ids:
            return DevicePlan('cpu', CPU, [CPU], 'standard', None, 0, 1)
        devices = ['@cupy:%d' % g for g in ids]
        if len(ids) == 1:
            return DevicePlan('gpu', devices[0], devices, 'standard', None, 0, 1)
        return DevicePlan('multi-gpu', devices[0], devices, 'multiprocess', None, 0,
                          len(devices))
    if not ids:
        return DevicePlan('mpi', CPU, [CPU], 'standard', 'naive', int(rank), int(size))
    if intra_rank >= len(ids):
        raise ValueError('--mpi --gpus %s: process %d of this machine has no GPU (start at '
                         'most %d processes per machine)'
                         % (','.join(map(str, ids)), intra_rank, len(ids)))
    device = '@cupy:%d' % ids[intra_rank]
    return DevicePlan('mpi', device, [device], 'standard', 'pure_nccl', int(rank), int(size))


def check_plan(plan):
    """Raise ``RuntimeError`` (one line) when this machine cannot run ``plan``."""
    if plan.device == CPU and plan.communicator is None:
        return
    if plan.device != CPU and plan.updater == 'multiprocess':
        # the multiprocess updater forks its workers at the first update and refuses to
        # when CUDA is initialized in the parent, so nothing here may touch the driver
        try:
            import cupy  # noqa: F401
        except ImportError as e:
            raise RuntimeError('--gpus needs CuPy (pip install -e ".[gpu]"): %s' % e)
    elif plan.device != CPU:
        try:
            import cupy
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:   # ImportError, CUDARuntimeError (no driver) ...
            raise RuntimeError('--gpus needs CuPy and a CUDA GPU, which this machine does not '
                               'offer (%s); leave --gpus out to train on the CPU'
                               % (str(e).splitlines()[0] if str(e) else type(e).__name__))
        wanted = [int(d.split(':')[1]) for d in plan.devices]
        missing = [g for g in wanted if g >= n]
        if missing:
            raise RuntimeError('--gpus asks for GPU %s but this machine has %d GPU(s)'
                               % (','.join(map(str, missing)), n))
    if plan.updater == 'multiprocess':
        from chainer.training.updaters import MultiprocessParallelUpdater
        if not MultiprocessParallelUpdater.available():
            raise RuntimeError('--gpus with several GPUs needs NCCL for CuPy (pip install '
                               'nvidia-nccl-cu12), or use mpiexec ... --mpi')
    if plan.communicator is not None:
        try:
            import chainermn  # noqa: F401
            import mpi4py  # noqa: F401
        except ImportError as e:
            raise RuntimeError('--mpi needs mpi4py and an MPI library (pip install -e ".[mn]"): '
                               '%s' % e)

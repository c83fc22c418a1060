"""Device and updater selection from --gpus / --mpi (no GPU needed)."""
import pytest

from chainer_see.training import devices


def test_cpu_one_gpu_and_several_gpus():
    p = devices.plan_devices(None)
    assert (p.mode, p.device, p.devices, p.updater, p.communicator, p.rank, p.size) == \
        ('cpu', '@numpy', ['@numpy'], 'standard', None, 0, 1)
    p = devices.plan_devices('0')
    assert (p.mode, p.device, p.updater, p.size) == ('gpu', '@cupy:0', 'standard', 1)
    p = devices.plan_devices('2,0,3')
    assert p.mode == 'multi-gpu' and p.updater == 'multiprocess'
    assert p.device == '@cupy:2' and p.devices == ['@cupy:2', '@cupy:0', '@cupy:3']
    assert p.size == 3 and devices.is_writer(p)


def test_mpi_on_cpu_and_on_gpus():
    p = devices.plan_devices(None, mpi=True, rank=3, size=4, intra_rank=1)
    assert (p.mode, p.device, p.updater, p.communicator, p.rank, p.size) == \
        ('mpi', '@numpy', 'standard', 'naive', 3, 4)
    assert not devices.is_writer(p)
    p = devices.plan_devices('0,1,2,3', mpi=True, rank=5, size=8, intra_rank=1)
    assert (p.device, p.devices, p.communicator) == ('@cupy:1', ['@cupy:1'], 'pure_nccl')
    with pytest.raises(ValueError, match='process 2 of this machine has no GPU'):
        devices.plan_devices('0,1', mpi=True, rank=2, size=3, intra_rank=2)


@pytest.mark.parametrize('text, ids', [(None, []), ('', []), ('none', []), ('-1', []),
                                       ('cpu', []), ('0', [0]), (' 1, 3 ', [1, 3])])
def test_parse_gpus(text, ids):
    assert devices.parse_gpus(text) == ids


@pytest.mark.parametrize('text', ['a', '0,,1', '1.5', '0,0'])
def test_parse_gpus_rejects(text):
    with pytest.raises(ValueError, match='--gpus'):
        devices.parse_gpus(text)


def test_check_plan_on_this_machine():
    devices.check_plan(devices.plan_devices(None))          # the CPU always works
    try:
        import cupy
        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        with pytest.raises(RuntimeError, match='leave --gpus out'):
            devices.check_plan(devices.plan_devices('0'))


def test_multi_gpu_check_never_initializes_cuda(monkeypatch):
    # the multiprocess updater forks its workers later and refuses to when the parent
    # has touched CUDA: the check must not ask the driver anything
    import chainer.training.updaters as updaters
    cupy = pytest.importorskip('cupy')

    def boom(*a, **k):
        raise AssertionError('check_plan touched the CUDA driver')
    monkeypatch.setattr(cupy.cuda.runtime, 'getDeviceCount', boom)
    monkeypatch.setattr(updaters.MultiprocessParallelUpdater, 'available',
                        staticmethod(lambda: True))
    devices.check_plan(devices.plan_devices('0,1'))
    monkeypatch.setattr(updaters.MultiprocessParallelUpdater, 'available',
                        staticmethod(lambda: False))
    with pytest.raises(RuntimeError, match='NCCL'):
        devices.check_plan(devices.plan_devices('0,1'))


def test_the_run_picks_the_updater_of_the_plan(tmp_path, monkeypatch):
    # SEETraining on the CPU builds a StandardUpdater; with a multi-GPU plan (faked:
    # no GPU here) it asks for SEEMultiprocessUpdater with one iterator per device and a
    # loss scaled by 1 / devices
    from chainer.training.updaters import StandardUpdater
    from chainer_see.training import build, parallel
    from tests.training.helpers import crops_levels, small_run
    run = small_run(tmp_path, levels=crops_levels(), model='svhn')
    assert type(run.updater) is StandardUpdater and run.chain.loss_scale == 1.0
    made = {}

    class FakeMPU(object):
        def __init__(self, iterators, optimizer, devices, replica_context=None):
            made.update(iterators=iterators, devices=devices, context=replica_context,
                        chain=optimizer.target)

        def get_iterator(self, name):
            return made['iterators'][0]

    monkeypatch.setattr(parallel, 'SEEMultiprocessUpdater', FakeMPU)
    monkeypatch.setattr(build.devices_module, 'check_plan', lambda plan: None)
    class Built(Exception):
        pass

    def no_trainer(*args, **kwargs):     # enough has been built once the updater exists
        raise Built

    monkeypatch.setattr(build.training, 'Trainer', no_trainer)
    with pytest.raises(Built):
        small_run(tmp_path / 'mgpu', levels=crops_levels(), model='svhn', gpus='0,1,2')
    assert made['devices'] == ['@cupy:0', '@cupy:1', '@cupy:2']
    its = [it.current() for it in made['iterators']]     # each replica's, at level 0
    assert len(its) == 3 and len({len(it.dataset) for it in its}) == 1
    assert made['chain'].loss_scale == pytest.approx(1 / 3.0)
    # the workers' copy of the curriculum: their level and each level's (N, T)
    assert made['context'].level == 0 and made['context'].label_shapes == [(1, 5)]
    first = [its[k].dataset.index for k in range(3)]
    assert first == [0, 1, 2]                                 # disjoint shards

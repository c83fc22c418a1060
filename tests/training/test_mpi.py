"""ChainerMN on the CPU for real: ``mpiexec -n 2 train.py --mpi`` trains a few
iterations and both ranks end with identical weights."""
import os
import shutil
import subprocess
import sys

import numpy
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.slow


def _mpiexec():
    found = shutil.which('mpiexec', path=os.path.dirname(sys.executable) + os.pathsep
                         + os.environ.get('PATH', ''))
    if found is None:
        return None
    try:
        import chainermn  # noqa: F401
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return found


def train_two_ranks(out, *options):
    """``mpiexec -n 2 train.py --mpi`` for 4 tiny iterations into ``out`` (plus
    ``options``); asserts that it succeeded and that both ranks hold identical weights
    (BN statistics aside); returns rank 0's saved arrays and the names compared."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1',
               OMPI_MCA_rmaps_base_oversubscribe='1', OMP_NUM_THREADS='1',
               OPENBLAS_NUM_THREADS='1')
    cmd = [_mpiexec(), '-n', '2', '--oversubscribe', sys.executable,
           os.path.join(ROOT, 'train.py'), '--mpi', '--out', out, '--iterations', '4',
           '--batch-size', '2', '--validation-size', '4', '--test-interval', '2',
           '--quiet', '--save-rank-models'] + list(options)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    a = numpy.load(os.path.join(out, 'rank0.npz'))
    b = numpy.load(os.path.join(out, 'rank1.npz'))
    weights = [k for k in a.files if not k.startswith('__see__') and
               not k.endswith(('avg_mean', 'avg_var', 'N'))]
    assert len(weights) > 50
    for k in weights:
        numpy.testing.assert_array_equal(a[k], b[k], err_msg=k)
    return a, weights


@pytest.mark.skipif(_mpiexec() is None, reason='needs mpiexec, mpi4py and chainermn')
def test_two_ranks_train_and_hold_identical_weights(tmp_path):
    out = str(tmp_path / 'mpi')
    a, weights = train_two_ranks(out, '--plot-images', '1')
    # ... and training moved them away from the initial (seed 0) weights
    import chainer_see
    from chainer_see.training.assembly import seeded as _seeded
    with _seeded(0):
        fresh = chainer_see.SEE(chainer_see.load_model(os.path.join(out, 'model.npz')).config)
    init = {name.lstrip('/'): p.array for name, p in fresh.namedparams()}
    moved = [k for k in weights if not numpy.array_equal(a[k], init[k])]
    assert len(moved) > len(weights) // 2
    # rank 0 wrote the files, once
    names = set(os.listdir(out))
    assert {'log', 'config.json', 'model.npz', 'snapshot_iter_00000004.npz'} <= names
    import json
    config = json.load(open(os.path.join(out, 'config.json')))
    assert config['devices']['communicator'] == 'naive' and config['devices']['size'] == 2
    log = json.load(open(os.path.join(out, 'log')))
    assert [e['iteration'] for e in log] == [0, 2, 4]         # 0: the untrained IoU
    assert 'validation/main/iou' in log[0] and 'validation/main/loss' in log[1]

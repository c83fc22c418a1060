"""``--box-fraction`` under ChainerMN on the CPU (issue 17): ``mpiexec -n 2 train.py
--mpi --box-fraction 0.5`` trains with box labels on both ranks (each reads its shard of
the one fixed choice of boxed images), logs ``main/box``, keeps identical weights on
the ranks and stores F in the model file."""
import json
import os
import subprocess
import sys

import numpy
import pytest

from tests.training.test_mpi import ROOT, _mpiexec

pytestmark = pytest.mark.slow


@pytest.mark.skipif(_mpiexec() is None, reason='needs mpiexec, mpi4py and chainermn')
def test_two_ranks_train_with_box_labels(tmp_path):
    out = str(tmp_path / 'mpi')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1',
               OMPI_MCA_rmaps_base_oversubscribe='1', OMP_NUM_THREADS='1',
               OPENBLAS_NUM_THREADS='1')
    cmd = [_mpiexec(), '-n', '2', '--oversubscribe', sys.executable,
           os.path.join(ROOT, 'train.py'), '--mpi', '--out', out, '--iterations', '4',
           '--batch-size', '2', '--validation-size', '4', '--test-interval', '2',
           '--log-interval', '2', '--plot-images', '0', '--quiet', '--save-rank-models',
           '--box-fraction', '0.5', '--box-weight', '2']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    a = numpy.load(os.path.join(out, 'rank0.npz'))
    b = numpy.load(os.path.join(out, 'rank1.npz'))
    weights = [k for k in a.files if not k.startswith('__see__') and
               not k.endswith(('avg_mean', 'avg_var', 'N'))]
    assert len(weights) > 50
    for k in weights:
        numpy.testing.assert_array_equal(a[k], b[k], err_msg=k)
    log = json.load(open(os.path.join(out, 'log')))
    box = [e['main/box'] for e in log if 'main/box' in e]
    # rank 0 reads images 0, 2, 4, ...: 2, 6, 8, 10, 12 carry boxes (seed 0), so every
    # interval of 2 iterations x 2 images has some
    assert len(box) == 2 and all(v > 0 for v in box), box
    from chainer_see.model_io import read_model_info
    meta = read_model_info(os.path.join(out, 'model.npz')).metadata
    assert meta['supervision']['box_fraction'] == 0.5
    assert meta['options']['box_weight'] == 2.0

"""``--box-fraction`` under ChainerMN on the CPU (issue 17): ``mpiexec -n 2 train.py
--mpi --box-fraction 0.5`` trains with box labels on both ranks (each reads its shard of
the one fixed choice of boxed images), logs ``main/box``, keeps identical weights on
the ranks and stores F in the model file."""
import json
import os

import pytest

from tests.training.test_mpi import _mpiexec, train_two_ranks

pytestmark = pytest.mark.slow


@pytest.mark.skipif(_mpiexec() is None, reason='needs mpiexec, mpi4py and chainermn')
def test_two_ranks_train_with_box_labels(tmp_path):
    out = str(tmp_path / 'mpi')
    train_two_ranks(out, '--log-interval', '2', '--plot-images', '0', '--box-fraction', '0.5',
                    '--box-weight', '2')
    log = json.load(open(os.path.join(out, 'log')))
    box = [e['main/box'] for e in log if 'main/box' in e]
    # rank 0 reads images 0, 2, 4, ...: 2, 6, 8, 10, 12 carry boxes (seed 0), so every
    # interval of 2 iterations x 2 images has some
    assert len(box) == 2 and all(v > 0 for v in box), box
    from chainer_see.model_io import read_model_info
    meta = read_model_info(os.path.join(out, 'model.npz')).metadata
    assert meta['supervision']['box_fraction'] == 0.5
    assert meta['options']['box_weight'] == 2.0

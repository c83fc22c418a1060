"""benchmarks/bench_model.py's arithmetic: the FLOP count of a step, the sgemm rate and
the table that reports them."""
import numpy

import chainer
import chainer.functions as F
import chainer.links as L

from benchmarks import bench_model
from chainer_see import SEEConfig
from chainer_see.links.see import SEE
from tests.evaluation import helpers as h


class _Net(chainer.Chain):
    def __init__(self):
        super(_Net, self).__init__()
        with self.init_scope():
            self.conv = L.Convolution2D(3, 8, 3, stride=2, pad=1)
            self.fc = L.Linear(8 * 4 * 4, 10)

    def __call__(self, x):
        return self.fc(F.relu(self.conv(x)))


def test_flops_of_a_hand_counted_network():
    net = _Net()
    x = numpy.zeros((2, 3, 8, 8), numpy.float32)
    # conv: 8 outputs x 4x4 positions x 3x3x3 weights; linear: 128 x 10; per image
    macs = 8 * 4 * 4 * 27 + 128 * 10
    assert bench_model.step_flops(net, x) == 6.0 * macs


def test_flops_of_the_model_grow_with_the_image_and_the_regions():
    small = SEEConfig.preset('svhn-grid', image_size=(64, 64), num_regions=1)
    x = numpy.zeros((1, 3, 64, 64), numpy.float32)
    f = {n: bench_model.step_flops(SEE(small.replace(num_regions=n)), x) for n in (1, 2, 4)}
    # the convolutions of the localization run once per image, the reader (and the
    # localization's LSTM steps) once per region: affine in N
    assert f[4] - f[1] == 3 * (f[2] - f[1])
    assert f[1] > f[2] - f[1] > 0
    big = SEEConfig.preset('svhn-grid', image_size=(128, 128), num_regions=1)
    assert bench_model.step_flops(SEE(big), numpy.zeros((1, 3, 128, 128), numpy.float32)) \
        > f[1]


def test_sgemm_rate_is_a_plausible_positive_number():
    rate = bench_model.sgemm_gflops(n=128, repeats=2)
    assert 0.1 < rate < 1e5


def test_table_prints_flops_rate_and_roofline_share(capsys, monkeypatch):
    monkeypatch.setattr(bench_model, 'sgemm_gflops', lambda: 10.0)
    monkeypatch.setattr(bench_model, 'bench_preset',
                        lambda *a, **k: (4.0, 2.0, 1e-6, 0.5))
    assert bench_model.main(['--presets', 'svhn', '--batch', '2', '--repeats', '1'],
                            configs={'svhn': h.tiny_svhn_config()}) == 0
    out = capsys.readouterr().out
    # 4 images/s x 0.5 GFLOP = 2 GFLOP/s = 20 % of the 10 GFLOP/s sgemm rate
    assert '| 2.00x | 1.0e-06 | 0.50 | 2.0 | 20 % |' in out
    assert 'sgemm (1024x1024, float32) 10.0 GFLOP/s' in out
    assert 'OPENBLAS_CORETYPE=' in out


def test_flop_counter_counts_nothing_outside_its_scope():
    n = 64
    counter = bench_model.FlopCounter()
    with counter:
        pass
    F.linear(numpy.zeros((1, n), numpy.float32), numpy.zeros((n, n), numpy.float32))
    assert counter.macs == 0

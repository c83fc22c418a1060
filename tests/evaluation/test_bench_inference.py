"""The inference benchmark runs and prints its table (tiny models; no timing asserted):
rates that fit their ratio, and the two forwards it times compute the same outputs."""
import numpy
import pytest

import chainer_see
from benchmarks import bench_inference
from chainer_see.evaluation import inference
from chainer_see.links import reference_ops

from tests.evaluation import helpers as h


def _cells(row):
    return [c.strip() for c in row.strip().strip('|').split('|')]


def test_main_prints_the_table(capsys):
    configs = {'svhn': h.tiny_svhn_config(),
               'fsns': h.tiny_fsns_config().replace(backbone='resnet18')}
    assert bench_inference.main(['--batch-size', '2', '--repeats', '1', '--warmup', '0',
                                 '--loop-batches', '1'], configs=configs) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('| preset | image | views | N | B | plain Chainer img/s')
    assert out[2].startswith('| svhn | 40x40 | 1 | 2 | 2 |')
    assert out[3].startswith('| fsns | 40x160 | 4 | 2 | 2 |')
    assert not out[3].endswith('| n/a |')
    for row in out[2:4]:
        cells = _cells(row)
        plain, ours, ratio, loop = float(cells[5]), float(cells[6]), cells[7], float(cells[9])
        assert plain > 0 and ours > 0 and loop > 0
        assert 0 <= float(cells[8]) <= bench_inference.TOLERANCE
        # the speed-up is forward / plain of the unrounded rates (printed to 0.01)
        assert ratio.endswith('x')
        assert float(ratio[:-1]) == pytest.approx(ours / plain, rel=0.01 / min(ours, plain)
                                                  + 1e-3, abs=0.006)
    assert 'median of 1 repeats after 0 warm-up run(s)' in out[4]
    assert '1 batches of synthetic images' in out[4]


@pytest.mark.parametrize('config', [h.tiny_svhn_config(),
                                    h.tiny_fsns_config().replace(backbone='resnet18')],
                         ids=['svhn', 'fsns'])
def test_the_timed_forwards_compute_the_same_outputs(config):
    # what bench_forward times against each other: inference.forward with the project's
    # CPU operations and with reference_ops(), on the same weights and images
    numpy.random.seed(0)
    model = chainer_see.SEE(config)
    H, W = config.image_size
    x = numpy.random.RandomState(0).rand(2, 3, H, W).astype(numpy.float32)
    logits, boxes = inference.forward(model, x)
    with reference_ops():
        plain_logits, plain_boxes = inference.forward(model, x)
    assert logits.shape == plain_logits.shape and boxes.shape == plain_boxes.shape
    scale = numpy.abs(plain_logits).max()
    assert numpy.abs(logits - plain_logits).max() <= 1e-4 * scale
    numpy.testing.assert_allclose(boxes, plain_boxes, rtol=0, atol=1e-4 * max(H, W))


def test_loop_can_be_skipped(capsys):
    assert bench_inference.main(['--presets', 'svhn', '--batch-size', '1', '--repeats', '1',
                                 '--loop-batches', '0'],
                                configs={'svhn': h.tiny_svhn_config()}) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith('| n/a |')


def test_rates_and_ratio_on_a_fixed_clock(monkeypatch, capsys):
    # every timed call "takes" a fixed time by what it runs: the project's forward 0.1 s,
    # the plain one 0.4 s, the evaluate loop 0.5 s
    seconds = {'ours': 0.1, 'plain': 0.4, '<lambda>': 0.5}

    def fixed(fn):
        assert fn.__name__ in seconds, fn.__name__
        fn()
        return seconds[fn.__name__]
    monkeypatch.setattr(bench_inference, '_timed', fixed)
    assert bench_inference.main(['--presets', 'svhn', '--batch-size', '2', '--repeats', '2',
                                 '--warmup', '0', '--loop-batches', '2'],
                                configs={'svhn': h.tiny_svhn_config()}) == 0
    cells = _cells(capsys.readouterr().out.splitlines()[2])
    # plain 2 / 0.4, forward 2 / 0.1, their ratio, the loop 4 images / 0.5 s
    assert cells[5:8] + cells[9:] == ['5.00', '20.00', '4.00x', '8.00']


def test_a_forward_that_computes_something_else_stops_the_benchmark(monkeypatch, capsys):
    import types
    from chainer_see.links import basic
    real = basic.fast_conv

    def off_by_a_thousandth(*args, **kwargs):     # the project's operation only
        return real.conv2d(*args, **kwargs) * 1.001
    monkeypatch.setattr(basic, 'fast_conv', types.SimpleNamespace(conv2d=off_by_a_thousandth))
    assert bench_inference.main(['--presets', 'svhn', '--batch-size', '2', '--repeats', '1',
                                 '--loop-batches', '0'],
                                configs={'svhn': h.tiny_svhn_config()}) == 1
    captured = capsys.readouterr()
    assert 'svhn: the fast and the plain forward differ by' in captured.err
    assert '| preset |' not in captured.out

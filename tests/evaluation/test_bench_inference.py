"""The inference benchmark runs and prints its table (tiny models; no timing asserted)."""
from benchmarks import bench_inference

from tests.evaluation import helpers as h


def test_main_prints_the_table(capsys):
    configs = {'svhn': h.tiny_svhn_config(), 'fsns': h.tiny_fsns_config()}
    assert bench_inference.main(['--batch-size', '2', '--repeats', '1', '--warmup', '0',
                                 '--loop-batches', '1'], configs=configs) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('| preset | image | views | N | B | plain Chainer img/s')
    assert out[2].startswith('| svhn | 40x40 | 1 | 2 | 2 |')
    assert out[3].startswith('| fsns | 40x160 | 4 | 2 | 2 |')
    assert not out[3].endswith('| n/a |')


def test_loop_can_be_skipped(capsys):
    assert bench_inference.main(['--presets', 'svhn', '--batch-size', '1', '--repeats', '1',
                                 '--loop-batches', '0'],
                                configs={'svhn': h.tiny_svhn_config()}) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith('| n/a |')

"""bench_inference.py --onnxruntime runs and prints its table (tiny models; no timing
asserted): Chainer and onnxruntime on the same weights, their largest difference."""
import pytest

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from benchmarks import bench_inference  # noqa: E402

from tests.evaluation import helpers as h  # noqa: E402


def test_onnxruntime_table(capsys):
    configs = {'svhn': h.tiny_svhn_config(),
               'svhn-grid': h.tiny_svhn_config(num_regions=4).replace(views=1),
               'fsns': h.tiny_fsns_config().replace(backbone='resnet18')}
    assert bench_inference.main(['--onnxruntime', '--batch-size', '2', '--repeats', '1',
                                 '--warmup', '0'], configs=configs) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('| preset | image | views | N | B | Chainer img/s | '
                             'onnxruntime img/s | ratio | largest difference |')
    assert [r.split(' | ')[0] for r in out[2:5]] == ['| svhn', '| svhn-grid', '| fsns']
    assert out[4].startswith('| fsns | 40x160 | 4 | 2 | 2 |')
    for row in out[2:5]:
        cells = [c.strip() for c in row.strip('|').split('|')]
        assert float(cells[5]) > 0 and float(cells[6]) > 0 and cells[7].endswith('x')
        assert float(cells[8]) < 1e-4


def test_onnxruntime_mode_needs_the_extra(monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(SystemExit) as e:
        bench_inference.main(['--onnxruntime'])
    assert e.value.code == 2 and 'pip install -e .[export]' in capsys.readouterr().err

"""The benchmark script runs and its two approaches agree (tiny sizes; no timing asserted)."""
import numpy

from benchmarks import bench_sampler


def test_reference_and_ours_agree_on_a_small_size():
    args = bench_sampler.make_inputs(2, 3, 3, 20, 24, 5, 6)
    ref = bench_sampler.run_reference(*args)
    ours = bench_sampler.run_ours(*args)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape and a.dtype == numpy.float32
    errs = bench_sampler.relative_errors(ours, ref)
    assert all(e <= t for e, t in zip(errs, bench_sampler.TOLERANCES)), errs


def test_main_prints_the_table(monkeypatch, capsys):
    monkeypatch.setattr(bench_sampler, 'SIZES', ((2, 2, 3, 16, 16, 4, 5),))
    assert bench_sampler.main(['--repeat', '1']) == 0
    out = capsys.readouterr().out
    assert '| size | ref ms | ours ms | speed-up |' in out
    assert 'B=2 N=2 3x16x16 -> 4x5' in out

"""benchmarks/bench_sampler.py's table carries numbers that fit together (issue 16, step
0): times and their speed-up (on a fixed clock), the image size, the reference's peak
memory holding the image N times, and differences within the tolerances."""
import pytest

from benchmarks import bench_sampler


def test_table_row_numbers(monkeypatch, capsys):
    size = (2, 3, 3, 128, 128, 10, 12)          # B N C H W Ho Wo: a 0.375 MiB image
    monkeypatch.setattr(bench_sampler, 'SIZES', (size,))

    def fixed(fn_a, fn_b, args, repeat):
        assert (fn_a, fn_b) == (bench_sampler.run_reference, bench_sampler.run_ours)
        return 12.0, 3.0                        # ms: reference, ours
    monkeypatch.setattr(bench_sampler, 'time_pair_ms', fixed)
    assert bench_sampler.main(['--repeat', '1']) == 0
    row = capsys.readouterr().out.splitlines()[2]
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[:4] == ['B=2 N=3 3x128x128 -> 10x12', '12.0', '3.0', '4.0x']
    ref_mib, ours_mib, image_mib = float(cells[4]), float(cells[5]), float(cells[6])
    assert image_mib == 0.4                     # 2 * 3 * 128 * 128 * 4 bytes, 0.375 MiB
    # the reference concatenates the image N = 3 times; ours reads it in place
    assert ref_mib >= 3 * 0.375 * 0.99
    assert 0 <= ours_mib < ref_mib
    errs = [float(e) for e in cells[7].split()]
    assert len(errs) == 3
    assert all(0 <= e <= t for e, t in zip(errs, bench_sampler.TOLERANCES)), errs


def test_a_disagreement_exits_1_and_names_the_size(monkeypatch, capsys):
    monkeypatch.setattr(bench_sampler, 'SIZES', ((1, 1, 1, 8, 8, 3, 3),))
    real = bench_sampler.run_ours

    def off(*args):
        y, gx, gtheta = real(*args)
        return y * 1.01, gx, gtheta
    monkeypatch.setattr(bench_sampler, 'run_ours', off)
    assert bench_sampler.main(['--repeat', '1']) == 1
    out = capsys.readouterr().out
    assert 'outputs or gradients differ from the reference for: B=1 N=1 1x8x8 -> 3x3' in out

"""Benchmark: multi_grid_sampler against the published code's approach, forward + backward.

Reference (the published SEE code): concatenate the image N times along the batch axis
(region-major, index n * B + b), then ``F.spatial_transformer_grid`` and
``F.spatial_transformer_sampler``.  Ours: ``affine_grid`` + ``multi_grid_sampler``, which
read the N grids of one image without copying it.  Both are measured in the same run, on the
same inputs, with gradients to the image and to theta.

    python -m benchmarks.bench_sampler [--repeat 7]

Prints, per size, the median forward + backward time of each approach (interleaved runs after a
warm-up), the speed-up, the peak extra memory each allocates (``tracemalloc``, which sees
NumPy's allocations), and how far apart their results are; exits 1 if they disagree.
"""
import argparse
import statistics
import sys
import time
import tracemalloc

import numpy

import chainer_see  # noqa: F401  (quiets CuPy's notes before chainer is imported)
import chainer
import chainer.functions as F

from chainer_see.functions import affine_grid, multi_grid_sampler
from chainer_see.functions import _sampler_cpu

# (B, N, C, H, W, Ho, Wo): SVHN 64x64 crops, the 200x200 grid/random datasets, one FSNS view
SIZES = (
    (32, 1, 3, 64, 64, 50, 50),
    (32, 4, 3, 200, 200, 50, 50),
    (32, 4, 3, 150, 150, 75, 100),
)


def make_inputs(B, N, C, H, W, Ho, Wo, dtype=numpy.float32, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.random((B, C, H, W), dtype=numpy.float64).astype(dtype)
    # crops of about half the image, somewhat rotated and sheared, some partly outside
    base = numpy.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    theta = base + rng.normal(0, 0.15, (B, N, 2, 3))
    gy = rng.standard_normal((B, N, C, Ho, Wo)).astype(dtype)
    return x, theta.astype(dtype), gy


def run_reference(x, theta, gy):
    """Forward + backward of the published approach; returns (y (B, N, C, Ho, Wo), gx, gtheta)."""
    B, N = theta.shape[:2]
    Ho, Wo = gy.shape[3:]
    xv = chainer.Variable(x)
    tv = chainer.Variable(theta)
    xs = F.concat([xv] * N, axis=0)                                  # index n * B + b
    th = F.reshape(F.transpose(tv, (1, 0, 2, 3)), (N * B, 2, 3))
    y = F.spatial_transformer_sampler(xs, F.spatial_transformer_grid(th, (Ho, Wo)))
    y.grad = numpy.ascontiguousarray(gy.transpose(1, 0, 2, 3, 4)).reshape(y.shape)
    y.backward()
    y = y.array.reshape((N, B) + y.shape[1:]).transpose(1, 0, 2, 3, 4)
    return y, xv.grad, tv.grad


def run_ours(x, theta, gy):
    """Forward + backward of affine_grid + multi_grid_sampler; same returns."""
    Ho, Wo = gy.shape[3:]
    xv = chainer.Variable(x)
    tv = chainer.Variable(theta)
    y = multi_grid_sampler(xv, affine_grid(tv, (Ho, Wo)))
    y.grad = gy
    y.backward()
    return y.array, xv.grad, tv.grad


def relative_errors(ours, ref):
    """||a - b|| / ||b|| for y, gx and gtheta.

    Not 0 in float32, and largest for gtheta: affine_grid and F.spatial_transformer_grid
    round a few grid values differently (one matrix product against another, 1 ulp), and the
    gradient of bilinear sampling jumps where a point crosses a pixel, so gtheta differs by
    up to ~1e-3 where the two grids put a point on different sides of a pixel centre.
    """
    return tuple(float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(b), 1e-30))
                 for a, b in zip(ours, ref))


# what bench() accepts as "the same result" for y, gx, gtheta (see relative_errors)
TOLERANCES = (1e-5, 1e-5, 1e-2)


def time_pair_ms(fn_a, fn_b, args, repeat):
    """Median wall time (ms) of fn_a(*args) and of fn_b(*args) over ``repeat`` interleaved
    runs after one warm-up each; interleaving makes load from other processes hit both."""
    fn_a(*args)
    fn_b(*args)
    times_a, times_b = [], []
    for _ in range(repeat):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times_a), 1e3 * statistics.median(times_b)


def peak_extra_mib(fn, args):
    """Peak bytes allocated (beyond what was live before) while running fn once, in MiB.

    The scratch buffers that the CPU sampler keeps between calls are freed first, so that
    they count.
    """
    _sampler_cpu.release_scratch()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return (peak - start) / 2.0 ** 20


def bench(size, repeat):
    B, N, C, H, W, Ho, Wo = size
    args = make_inputs(*size)
    errs = relative_errors(run_ours(*args), run_reference(*args))
    ref_ms, ours_ms = time_pair_ms(run_reference, run_ours, args, repeat)
    return dict(size='B=%d N=%d %dx%dx%d -> %dx%d' % (B, N, C, H, W, Ho, Wo),
                ref_ms=ref_ms, ours_ms=ours_ms, speedup=ref_ms / ours_ms,
                ref_mib=peak_extra_mib(run_reference, args),
                ours_mib=peak_extra_mib(run_ours, args),
                image_mib=args[0].nbytes / 2.0 ** 20,
                rel_err=' '.join('%.0e' % e for e in errs),
                ok=all(e <= t for e, t in zip(errs, TOLERANCES)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Forward + backward time and peak extra memory of multi_grid_sampler '
                    '(+ affine_grid) against the published approach (image concatenated N '
                    'times + F.spatial_transformer_grid + F.spatial_transformer_sampler), '
                    'float32, CPU.')
    parser.add_argument('--repeat', type=int, default=7,
                        help='timed runs per approach and size, interleaved; the table shows '
                             'medians (default 7)')
    parser.add_argument('--sizes', type=int, nargs='*', default=None, metavar='I',
                        help='indices into the size list to run (default: all)')
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error('--repeat must be at least 1')
    sizes = SIZES if args.sizes is None else [SIZES[i] for i in args.sizes]
    header = ('| size | ref ms | ours ms | speed-up | ref peak MiB | ours peak MiB '
              '| image MiB | rel. diff y gx gtheta |')
    print(header)
    print('|' + '---|' * 8)
    rows = []
    for size in sizes:
        r = bench(size, args.repeat)
        rows.append(r)
        print('| {size} | {ref_ms:.1f} | {ours_ms:.1f} | {speedup:.1f}x | {ref_mib:.1f} '
              '| {ours_mib:.1f} | {image_mib:.1f} | {rel_err} |'.format(**r))
        sys.stdout.flush()
    bad = [r['size'] for r in rows if not r['ok']]
    if bad:
        print('outputs or gradients differ from the reference for: %s' % ', '.join(bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

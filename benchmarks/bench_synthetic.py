#!/usr/bin/env python
"""Milliseconds per image of the synthetic generators (one process, one core).

    python benchmarks/bench_synthetic.py [--count 200]

Targets (one core): svhn-crops < 2 ms, svhn-grid / svhn-random < 10 ms, fsns-like
< 40 ms per image.  Prints, per kind, the time of ``dataset[i]`` (render + float32
conversion), the target and their ratio; fonts and glyphs are built before timing.
"""
import argparse
import os
import sys
import time

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, _ROOT)

from chainer_see.data.synthetic import SyntheticDataset  # noqa: E402

TARGETS_MS = {'svhn-crops': 2.0, 'svhn-grid': 10.0, 'svhn-random': 10.0, 'fsns-like': 40.0}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--count', type=int, default=200, help='images per kind (fsns-like: /4)')
    p.add_argument('--repeat', type=int, default=3, help='best of this many runs')
    args = p.parse_args(argv)
    print('%-12s %10s %10s %8s' % ('kind', 'ms/image', 'target', 'ratio'))
    for kind, target in TARGETS_MS.items():
        n = max(args.count // (4 if kind == 'fsns-like' else 1), 1)
        best = float('inf')
        for r in range(args.repeat):
            ds = SyntheticDataset(kind, n + 1, seed=r)
            ds[0]  # build fonts, glyphs, noise table
            t = time.perf_counter()
            for i in range(1, n + 1):
                ds[i]
            best = min(best, (time.perf_counter() - t) / n * 1000.0)
        print('%-12s %10.2f %10.1f %8.2f' % (kind, best, target, best / target))


if __name__ == '__main__':
    main()

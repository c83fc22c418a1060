"""Images per second of evaluation on the CPU, for the ``svhn`` and ``fsns`` presets.

Three figures per preset, all in one process on the same weights:

* **forward**: the test-mode forward pass that ``evaluate.py`` runs
  (``evaluation.inference.forward``: ``train=False``, no graph) on a random batch;
* **plain Chainer**: the same forward with the project's CPU operations switched off
  (``reference_ops()``: ``F.convolution_2d``, Chainer's pooling and batch normalization,
  the LSTM step by step, the image concatenated N times for the sampler), the baseline
  of the ratio;
* **evaluate loop**: ``evaluate_model`` on the preset's synthetic held-out set
  (``synthetic-svhn`` / ``synthetic-fsns``): rendering the images, the forward, decoding,
  IoU and the figures, i.e. what ``evaluate.py`` does per image.

Each forward timing is the median of ``--repeats`` runs after ``--warmup`` untimed ones;
the two forward variants are interleaved so that load changes on a shared machine hit
both alike.  Weights are the random initialization (speed does not depend on them).

    python benchmarks/bench_inference.py                    # svhn and fsns, B=16
    python benchmarks/bench_inference.py --presets svhn --batch-size 64 --repeats 7
"""
import argparse
import os
import statistics
import sys
import time

import numpy

if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import chainer_see  # noqa: E402  (silences CuPy's notes before chainer is imported)

from chainer_see.evaluation import inference  # noqa: E402
from chainer_see.evaluation.evaluate import evaluate_model, open_evaluation_set  # noqa: E402
from chainer_see.links import reference_ops  # noqa: E402
from chainer_see.runtime import tune_malloc  # noqa: E402

#: model preset -> the synthetic dataset preset evaluated by the loop
DATASETS = {'svhn': 'synthetic-svhn', 'fsns': 'synthetic-fsns'}


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_forward(model, batch, repeats, warmup, seed=0):
    """Returns ``(ours images/s, plain Chainer images/s)`` of the test-mode forward."""
    H, W = model.config.image_size
    x = numpy.random.RandomState(seed).rand(batch, 3, H, W).astype(numpy.float32)

    def ours():
        inference.forward(model, x)

    def plain():
        with reference_ops():
            inference.forward(model, x)
    for _ in range(warmup):
        ours()
        plain()
    t_ours, t_plain = [], []
    for _ in range(repeats):
        t_ours.append(_timed(ours))
        t_plain.append(_timed(plain))
    return batch / statistics.median(t_ours), batch / statistics.median(t_plain)


def bench_loop(model, dataset_name, batch, count):
    """Images/s of ``evaluate_model`` on ``count`` synthetic held-out images (one run,
    after rendering nothing in advance)."""
    ds, _ = open_evaluation_set(dataset_name, model.config, count=count)
    t = _timed(lambda: evaluate_model(model, ds, batch, show_progress=False))
    return count / t


def main(argv=None, configs=None):
    """``configs``: optional ``{preset: SEEConfig}`` replacing the presets' own (tests)."""
    parser = argparse.ArgumentParser(
        description='Evaluation images/s on the CPU for the svhn and fsns presets: the '
                    'test-mode forward against plain Chainer (same weights, same process), '
                    'and the whole evaluate loop on synthetic data.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--presets', nargs='+', default=['svhn', 'fsns'],
                        choices=sorted(DATASETS), help='model presets to measure')
    parser.add_argument('--batch-size', type=int, default=16, help='images per forward')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed forwards per variant; the median is reported')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards per variant')
    parser.add_argument('--loop-batches', type=int, default=4,
                        help='the evaluate loop runs on this many batches of images '
                             '(0 = skip it)')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.warmup < 0 or args.loop_batches < 0:
        parser.error('--batch-size and --repeats must be >= 1, --warmup and --loop-batches '
                     '>= 0')
    tune_malloc()
    rows = []
    for name in args.presets:
        cfg = (configs or {}).get(name) or chainer_see.SEEConfig.preset(name)
        numpy.random.seed(0)
        model = chainer_see.SEE(cfg)
        ours, plain = bench_forward(model, args.batch_size, args.repeats, args.warmup)
        loop = (bench_loop(model, DATASETS[name], args.batch_size,
                           args.batch_size * args.loop_batches) if args.loop_batches else None)
        H, W = cfg.image_size
        rows.append((name, '%dx%d' % (H, W), cfg.views, cfg.num_regions, args.batch_size,
                     plain, ours, ours / plain, loop))
        print('%s done' % name, file=sys.stderr)
    print('| preset | image | views | N | B | plain Chainer img/s | forward img/s | speed-up '
          '| evaluate loop img/s |')
    print('|---|---|---|---|---|---|---|---|---|')
    for name, size, v, n, b, plain, ours, ratio, loop in rows:
        print('| %s | %s | %d | %d | %d | %.2f | %.2f | %.2fx | %s |' % (
            name, size, v, n, b, plain, ours, ratio, 'n/a' if loop is None else '%.2f' % loop))
    print('forward: median of %d repeats after %d warm-up run(s), test mode, no graph; '
          'evaluate loop: %d batches of synthetic images, rendering included'
          % (args.repeats, args.warmup, args.loop_batches))
    return 0


if __name__ == '__main__':
    sys.exit(main())

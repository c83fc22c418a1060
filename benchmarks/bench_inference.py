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

Before timing, the two forwards are compared: logits and boxes must agree within
``--tolerance`` (``max |fast - plain| / max |plain|``, as ``bench_model.py``); a larger
difference stops the benchmark with exit status 1, and the largest difference is printed
beside the speed-up.  Each forward timing is the median of ``--repeats`` runs after ``--warmup`` untimed ones;
the two forward variants are interleaved so that load changes on a shared machine hit
both alike.  Weights are the random initialization (speed does not depend on them).

With ``--onnxruntime`` it measures instead the model exported to ONNX
(``chainer_see.export``) in onnxruntime on the CPU against the same forward in Chainer
(the project's CPU operations, as above), for ``svhn``, ``svhn-grid`` and ``fsns``: the
two are interleaved in one process on the same weights and the same images, and the
largest difference of their logits and boxes is printed beside the ratio.  Both use
every core (onnxruntime's default threads, NumPy's BLAS threads).

    python benchmarks/bench_inference.py                    # svhn and fsns, B=16
    python benchmarks/bench_inference.py --presets svhn --batch-size 64 --repeats 7
    python benchmarks/bench_inference.py --onnxruntime      # svhn, svhn-grid, fsns, B=16
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

from benchmarks.bench_model import Disagreement, TOLERANCE, difference  # noqa: E402
from chainer_see.evaluation import inference  # noqa: E402
from chainer_see.evaluation.evaluate import evaluate_model, open_evaluation_set  # noqa: E402
from chainer_see.links import reference_ops  # noqa: E402
from chainer_see.runtime import tune_malloc  # noqa: E402

#: model preset -> the synthetic dataset preset evaluated by the loop
DATASETS = {'svhn': 'synthetic-svhn', 'svhn-grid': 'synthetic-grid', 'fsns': 'synthetic-fsns'}
#: presets measured by default, without and with ``--onnxruntime``
DEFAULT_PRESETS = ['svhn', 'fsns']
ONNX_PRESETS = ['svhn', 'svhn-grid', 'fsns']


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def forward_difference(model, x):
    """The largest difference (``bench_model.difference``) between the logits and boxes
    of the test-mode forward with the project's operations and with plain Chainer."""
    fast = inference.forward(model, x)
    with reference_ops():
        plain = inference.forward(model, x)
    return max(difference(a, b) for a, b in zip(fast, plain))


def bench_forward(model, batch, repeats, warmup, seed=0, tolerance=TOLERANCE):
    """Returns ``(ours images/s, plain Chainer images/s, largest difference)`` of the
    test-mode forward; raises ``Disagreement`` when the two differ by more than
    ``tolerance``."""
    H, W = model.config.image_size
    x = numpy.random.RandomState(seed).rand(batch, 3, H, W).astype(numpy.float32)
    diff = forward_difference(model, x)
    if not diff <= tolerance:
        raise Disagreement('the fast and the plain forward differ by %.2e (tolerance %.0e)'
                           % (diff, tolerance))

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
    return batch / statistics.median(t_ours), batch / statistics.median(t_plain), diff


def bench_onnxruntime(model, batch, repeats, warmup, seed=0):
    """Returns ``(Chainer images/s, onnxruntime images/s, largest difference)`` of the
    test-mode forward; the difference as ``chainer_see.export.verify`` gives it."""
    from chainer_see import export
    H, W = model.config.image_size
    x = numpy.random.RandomState(seed).rand(batch, 3, H, W).astype(numpy.float32)
    onnx_model = export.OnnxSEE(export.build_onnx(model, outputs=('logits', 'boxes')))
    diff = max(export.verify(model, onnx_model, x=x).values())

    def chainer():
        inference.forward(model, x)

    def ort():
        onnx_model(x)
    for _ in range(warmup):
        chainer()
        ort()
    t_chainer, t_ort = [], []
    for _ in range(repeats):
        t_chainer.append(_timed(chainer))
        t_ort.append(_timed(ort))
    return batch / statistics.median(t_chainer), batch / statistics.median(t_ort), diff


def onnx_table(rows, args):
    """Print the table of ``--onnxruntime``."""
    print('| preset | image | views | N | B | Chainer img/s | onnxruntime img/s | ratio '
          '| largest difference |')
    print('|---|---|---|---|---|---|---|---|---|')
    for name, size, v, n, b, chainer, ort, diff in rows:
        print('| %s | %s | %d | %d | %d | %.2f | %.2f | %.2fx | %.1e |' % (
            name, size, v, n, b, chainer, ort, ort / chainer, diff))
    print('forward on the CPU, test mode: median of %d repeats after %d warm-up run(s), '
          'interleaved; ratio = onnxruntime / Chainer; difference: max |a - b| / (1 + |b|) '
          'of logits and boxes' % (args.repeats, args.warmup))


def bench_loop(model, dataset_name, batch, count):
    """Images/s of ``evaluate_model`` on ``count`` synthetic held-out images (one run,
    after rendering nothing in advance)."""
    ds, _ = open_evaluation_set(dataset_name, model.config, count=count)
    t = _timed(lambda: evaluate_model(model, ds, batch, show_progress=False))
    return count / t


def main(argv=None, configs=None):
    """``configs``: optional ``{preset: SEEConfig}`` replacing the presets' own (tests)."""
    parser = argparse.ArgumentParser(
        description='Evaluation images/s on the CPU: the test-mode forward against plain '
                    'Chainer (same weights, same process) and the whole evaluate loop on '
                    'synthetic data; with --onnxruntime, the ONNX export in onnxruntime '
                    'against the Chainer forward.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--presets', nargs='+', default=argparse.SUPPRESS,
                        choices=sorted(DATASETS),
                        help='model presets to measure (default: %s; with --onnxruntime %s)'
                        % (' '.join(DEFAULT_PRESETS), ' '.join(ONNX_PRESETS)))
    parser.add_argument('--onnxruntime', action='store_true',
                        help='measure the ONNX export in onnxruntime against Chainer instead '
                             '(needs pip install -e .[export])')
    parser.add_argument('--batch-size', type=int, default=16, help='images per forward')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed forwards per variant; the median is reported')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards per variant')
    parser.add_argument('--tolerance', type=float, default=TOLERANCE,
                        help='largest difference allowed between the fast and the plain '
                             'forward (logits and boxes, max |fast - plain| / max |plain|)')
    parser.add_argument('--loop-batches', type=int, default=4,
                        help='the evaluate loop runs on this many batches of images '
                             '(0 = skip it; not run with --onnxruntime)')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.warmup < 0 or args.loop_batches < 0:
        parser.error('--batch-size and --repeats must be >= 1, --warmup and --loop-batches '
                     '>= 0')
    if getattr(args, 'presets', None) is None:
        args.presets = ONNX_PRESETS if args.onnxruntime else DEFAULT_PRESETS
    if args.onnxruntime:
        try:
            __import__('onnx')
            __import__('onnxruntime')
        except ImportError:
            parser.error('--onnxruntime needs onnx and onnxruntime: pip install -e .[export]')
    tune_malloc()
    rows = []
    for name in args.presets:
        cfg = (configs or {}).get(name) or chainer_see.SEEConfig.preset(name)
        numpy.random.seed(0)
        model = chainer_see.SEE(cfg)
        H, W = cfg.image_size
        if args.onnxruntime:
            rows.append((name, '%dx%d' % (H, W), cfg.views, cfg.num_regions, args.batch_size)
                        + bench_onnxruntime(model, args.batch_size, args.repeats, args.warmup))
            print('%s done' % name, file=sys.stderr)
            continue
        try:
            ours, plain, diff = bench_forward(model, args.batch_size, args.repeats,
                                              args.warmup, tolerance=args.tolerance)
        except Disagreement as e:
            print('bench_inference.py: %s: %s' % (name, e), file=sys.stderr)
            return 1
        loop = (bench_loop(model, DATASETS[name], args.batch_size,
                           args.batch_size * args.loop_batches) if args.loop_batches else None)
        rows.append((name, '%dx%d' % (H, W), cfg.views, cfg.num_regions, args.batch_size,
                     plain, ours, ours / plain, diff, loop))
        print('%s done' % name, file=sys.stderr)
    if args.onnxruntime:
        onnx_table(rows, args)
        return 0
    print('| preset | image | views | N | B | plain Chainer img/s | forward img/s | speed-up '
          '| largest difference | evaluate loop img/s |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, size, v, n, b, plain, ours, ratio, diff, loop in rows:
        print('| %s | %s | %d | %d | %d | %.2f | %.2f | %.2fx | %.1e | %s |' % (
            name, size, v, n, b, plain, ours, ratio, diff,
            'n/a' if loop is None else '%.2f' % loop))
    print('forward: median of %d repeats after %d warm-up run(s), test mode, no graph; '
          'evaluate loop: %d batches of synthetic images, rendering included'
          % (args.repeats, args.warmup, args.loop_batches))
    return 0


if __name__ == '__main__':
    sys.exit(main())

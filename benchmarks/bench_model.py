"""Forward + backward throughput of the SEE model on the CPU, against a plain baseline.

The baseline is the straightforward Chainer implementation of the same network, built
from the same classes with the optimizations switched off (``reference_ops()``:
``F.convolution_2d``, Chainer's pooling and batch normalization, ``L.LSTM`` called step
by step, the image concatenated N times for ``F.spatial_transformer_sampler``) and the
loss written with per-word Python loops (``reference_loss`` below, also used by the
tests as an independent check of ``SEELoss``).  Both run in the same process on the same
weights and data; each timing is the median of several repeats after a warm-up.

Before timing, one step of each is compared (``compare_steps``, on the first
``CHECK_BATCH`` images of the batch; see there why): the model's logits and
boxes, the loss and the gradient of every parameter must agree within ``--tolerance``
(default ``TOLERANCE``; the difference of two arrays is ``max |fast - plain|`` over
``max |plain|``, for gradients over the largest plain gradient).  A larger difference
stops the benchmark with exit status 1, so a speed-up is never reported for a step that
computes something else.  The largest difference is printed beside the speed-up.

The table also gives the step's arithmetic: GFLOP per image (``step_flops``: the
multiply-adds of every convolution and linear layer of one forward pass, counted by a
``FunctionHook`` on the plain network, times 2 for FLOP, times 3 for forward plus the
two backward products), the GFLOP/s it reaches, and that rate as a share of what NumPy's
sgemm does on this machine, measured in the same run (``sgemm_gflops``: the roofline
share; OPENBLAS_* settings are printed with it, and left as the environment has them).

    python benchmarks/bench_model.py                 # svhn and svhn-grid, B=32
    python benchmarks/bench_model.py --presets svhn --batch 16 --repeats 5
    python benchmarks/bench_model.py --ablation     # each fast operation on its own

``--ablation`` times the step with every fast operation, then with one operation at a
time switched to its plain version (``reference_ops(only=(op,))``), interleaved; an
operation's speed-up is the whole step's rate with it over the rate without it.  The
house rule: an operation stays only where it pays at least ``KEEP`` (1.15x) of the whole
step on its own, at least in one preset.
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
import chainer  # noqa: E402
import chainer.functions as F  # noqa: E402
from chainer.utils import conv as conv_utils  # noqa: E402

from chainer_see.links import reference_ops  # noqa: E402
from chainer_see.links.ops import OPS  # noqa: E402
from chainer_see.training.loss import SEELoss  # noqa: E402


def reference_loss(spec, output, labels):
    """``SEELoss`` computed the straightforward (published) way: Python loops over word
    slots, characters, views and, for the accuracy, over samples.

    ``spec`` is the ``SEELoss`` whose options to follow.  Returns ``(loss, parts)`` like
    ``SEELoss.__call__`` (parts: ``loss``, ``text``, ``accuracy``).
    """
    logits, grids = output.logits, output.grids
    B, N, T, K = logits.shape
    V = grids.shape[1] // N
    labels = numpy.asarray(labels)
    pred = logits.array.argmax(axis=-1)
    right = 0
    for b in range(B):
        for n in range(N):
            p = [int(c) for c in pred[b, n] if c != 0]
            t = [int(c) for c in labels[b, n] if c != 0]
            right += p == t
    accuracy = right / float(B * N)
    lam1 = spec.area_weight + spec.area_accuracy_scale * accuracy
    weights = spec.word_weights or (1.0,) * N
    slot_losses = []
    text_total = 0
    for n in range(N):
        chars = [F.softmax_cross_entropy(logits[:, n, t], labels[:, n, t].astype(numpy.int32))
                 for t in range(T)]
        text = sum(chars) / T if spec.mode == 'svhn' else sum(chars)
        reg = 0
        if spec.uses_regularizers:
            for v in range(V):
                terms = _reference_terms(spec, grids[:, n * V + v])
                r = lam1 * F.mean(terms['area'])
                for key, weight in (('aspect', spec.aspect_weight),
                                    ('direction', spec.direction_weight),
                                    ('height', spec.height_weight),
                                    ('outside', spec.outside_weight)):
                    if key in terms and weight:
                        r = r + weight * F.mean(terms[key])
                # fsns: the views' regularizers are summed (published); else averaged
                reg = reg + (r if spec.mode == 'fsns' else r / V)
        text_total = text_total + weights[n] * text
        slot_losses.append(weights[n] * (text + reg))
    total = sum(slot_losses)
    if spec.mode == 'fsns':
        total = total / N
        text_total = text_total / N
    return total, {'loss': float(total.array), 'text': float(text_total.array),
                   'accuracy': accuracy}


def _reference_terms(spec, g):
    """The regularizer values ``(B,)`` of grids ``g (B, 2, Ho, Wo)`` of one view, written
    out corner by corner: mode ``'fsns'`` as the published FSNS loss (sides as corner
    distances in pixels ``(g + 1) / 2 * size``), the others in the hull geometry."""
    Hv, Wv = spec.view_size
    if spec.mode == 'fsns':
        def px(pt):
            return (pt[:, 0] + 1) / 2.0 * Wv, (pt[:, 1] + 1) / 2.0 * Hv
        tl, tr, bl = px(g[:, :, 0, 0]), px(g[:, :, 0, -1]), px(g[:, :, -1, 0])
        width = F.sqrt((tr[0] - tl[0]) ** 2 + (tr[1] - tl[1]) ** 2)
        height = F.sqrt((bl[0] - tl[0]) ** 2 + (bl[1] - tl[1]) ** 2)
        area = width * height / float(Wv * Hv)
        direction = F.relu(tl[1] - bl[1]) + F.relu(tl[0] - tr[0])
    else:
        def px(pt):
            return (pt[:, 0] + 1) * ((Wv - 1) / 2.0), (pt[:, 1] + 1) * ((Hv - 1) / 2.0)
        tl, tr = px(g[:, :, 0, 0]), px(g[:, :, 0, -1])
        br, bl = px(g[:, :, -1, -1]), px(g[:, :, -1, 0])
        xs, ys = [tl[0], tr[0], br[0], bl[0]], [tl[1], tr[1], br[1], bl[1]]
        x_min = F.minimum(F.minimum(xs[0], xs[1]), F.minimum(xs[2], xs[3]))
        x_max = F.maximum(F.maximum(xs[0], xs[1]), F.maximum(xs[2], xs[3]))
        y_min = F.minimum(F.minimum(ys[0], ys[1]), F.minimum(ys[2], ys[3]))
        y_max = F.maximum(F.maximum(ys[0], ys[1]), F.maximum(ys[2], ys[3]))
        width, height = x_max - x_min, y_max - y_min
        area = width * height / float((Wv - 1) * (Hv - 1))
        direction = (F.relu(tl[1] - bl[1]) * (2.0 / (Hv - 1))
                     + F.relu(tl[0] - tr[0]) * (2.0 / (Wv - 1)))
    w1 = F.maximum(width, numpy.ones(width.shape, width.dtype))
    out = {'area': area, 'aspect': F.relu(height / w1 - 0.5), 'direction': direction}
    if spec.height_hinge is not None:
        out['height'] = F.relu(spec.height_hinge - height)
    corners = [g[:, :, 0, 0], g[:, :, 0, -1], g[:, :, -1, -1], g[:, :, -1, 0]]
    out['outside'] = sum(F.relu(abs(c[:, 0]) - 1) + F.relu(abs(c[:, 1]) - 1)
                         for c in corners) / 4.0
    return out


class FlopCounter(chainer.FunctionHook):
    """Counts the multiply-adds of the convolutions and linear layers run under it
    (Chainer's own ``Convolution2DFunction`` and ``LinearFunction``: run the network
    inside ``reference_ops()`` so that every layer is one of them)."""

    name = 'FlopCounter'

    def __init__(self):
        self.macs = 0

    def forward_preprocess(self, function, in_data):
        label = type(function).__name__
        if label == 'Convolution2DFunction':
            x, W = in_data[0], in_data[1]
            B, _, H, Wd = x.shape
            out_c, in_c, kh, kw = W.shape
            ho = conv_utils.get_conv_outsize(H, kh, function.sy, function.ph,
                                             function.cover_all, function.dy)
            wo = conv_utils.get_conv_outsize(Wd, kw, function.sx, function.pw,
                                             function.cover_all, function.dx)
            self.macs += B * out_c * ho * wo * in_c * kh * kw
        elif label == 'LinearFunction':
            x, W = in_data[0], in_data[1]
            self.macs += x.shape[0] * W.shape[0] * W.shape[1]


def step_flops(model, x):
    """FLOP of one training step per image: ``2 x 3 x`` the forward pass's multiply-adds
    of convolutions and linear layers (the backward pass computes two products of the
    forward's size: the input and the weight gradients)."""
    counter = FlopCounter()
    with reference_ops(), counter, chainer.using_config('enable_backprop', False):
        model(x)
    return 6.0 * counter.macs / len(x)


def sgemm_gflops(n=1024, repeats=5):
    """GFLOP/s of a float32 ``n x n`` matrix product in NumPy (the best of ``repeats``):
    the machine's practical peak for the GEMMs a training step is made of."""
    rng = numpy.random.RandomState(0)
    a = rng.rand(n, n).astype(numpy.float32)
    b = rng.rand(n, n).astype(numpy.float32)
    a.dot(b)
    best = min(_timed(lambda: a.dot(b)) for _ in range(repeats))
    return 2.0 * n ** 3 / best / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _time_step(model, loss_fn, x, labels, repeats, warmup):
    def step():
        out = model(x)
        loss, _ = loss_fn(out, labels)
        model.cleargrads()
        loss.backward()
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


#: the largest difference allowed between the fast and the plain step (``compare_steps``)
TOLERANCE = 1e-4
#: images of the batch the two steps are compared on.  On more random images a ReLU or
#: max-pooling kink is hit: a pre-activation moved across 0 by a rounding difference of
#: 1e-7 changes one image's gradient by about 1 % (measured at B = 24, svhn: image 11's
#: crop gradient, with only the convolution switched), and the localization's gradient,
#: a sum over every image, by 1e-3 of the largest gradient
CHECK_BATCH = 8


class Disagreement(AssertionError):
    """The fast and the plain step compute different things (names the array)."""


def difference(fast, plain, scale=None):
    """``max |fast - plain| / scale``, ``scale`` by default ``max |plain|`` (0 when the two
    are equal, ``inf`` for another shape or a difference against a zero scale)."""
    fast = numpy.asarray(fast, numpy.float64)
    plain = numpy.asarray(plain, numpy.float64)
    if fast.shape != plain.shape:
        return float('inf')
    if not fast.size:
        return 0.0
    err = float(numpy.max(numpy.abs(fast - plain)))
    if scale is None:
        scale = float(numpy.max(numpy.abs(plain)))
    return err / scale if scale > 0 else (0.0 if err == 0 else float('inf'))


def _one_step(model, loss_fn, x, labels, seed):
    """Forward + loss + backward; returns ``{name: array}`` of what the step computes."""
    numpy.random.seed(seed)          # any random draw of the forward is the same in both
    out = model(x)
    loss, _ = loss_fn(out, labels)
    model.cleargrads()
    loss.backward()
    got = {'logits': out.logits.array.copy(),
           'boxes': numpy.array(getattr(out.boxes, 'array', out.boxes)),
           'loss': numpy.array(loss.array)}
    for name, p in model.namedparams():
        got['grad ' + name] = None if p.grad is None else p.grad.copy()
    return got


def compare_steps(model, spec, x, labels, seed=0):
    """One training step with the project's operations and ``spec`` (a ``SEELoss``)
    against one with ``reference_ops()`` and ``reference_loss``, on the same weights
    and data.  Returns ``{name: difference}`` for the logits, the boxes, the loss and the
    gradient of every parameter (``'grad /localization_net/...'``).

    Each is ``max |fast - plain|`` over ``max |plain|`` of the same array, except the
    gradients: over the largest plain gradient of any parameter (a convolution's bias
    before a batch normalization has a gradient of rounding noise only).

    ``spec``'s area weight follows the accuracy of its previous call: it is called
    once on this batch first, so that both losses use this batch's accuracy.
    """
    numpy.random.seed(seed)
    spec(model(x), labels)
    fast = _one_step(model, spec, x, labels, seed)
    with reference_ops():
        plain = _one_step(model, lambda out, lab: reference_loss(spec, out, lab), x, labels,
                          seed)
    grad_scale = max([float(numpy.max(numpy.abs(g))) for k, g in plain.items()
                      if k.startswith('grad ') and g is not None and g.size] or [0.0])
    diffs = {}
    for name, a in fast.items():
        b = plain[name]
        if a is None or b is None:
            diffs[name] = 0.0 if a is None and b is None else float('inf')
        elif name.startswith('grad '):
            diffs[name] = difference(a, b, grad_scale)
        else:
            diffs[name] = difference(a, b)
    return diffs


def check_agreement(model, spec, x, labels, tolerance=TOLERANCE, seed=0):
    """``compare_steps`` and raise ``Disagreement`` naming the worst array when it is
    above ``tolerance``; returns the largest difference."""
    diffs = compare_steps(model, spec, x, labels, seed)
    worst = max(diffs, key=diffs.get)
    if not diffs[worst] <= tolerance:
        raise Disagreement('the fast and the plain step differ: %s by %.2e (tolerance %.0e)'
                           % (worst, diffs[worst], tolerance))
    return diffs[worst]


def step_inputs(name, config, batch, seed=0):
    """``(model, loss, images, labels)`` of one benchmark step: a seeded ``SEE(config)``,
    the loss preset ``name``, random images and random class ids of the model's shape."""
    numpy.random.seed(seed)
    model = chainer_see.SEE(config)
    H, W = config.image_size
    rng = numpy.random.RandomState(seed)
    x = rng.rand(batch, 3, H, W).astype(numpy.float32)
    labels = rng.randint(0, config.num_classes, (batch, config.num_regions, config.num_chars)
                         ).astype(numpy.int32)
    return model, SEELoss.preset(name, config=config), x, labels


def bench_preset(name, batch, repeats, warmup, seed=0, config=None, tolerance=TOLERANCE):
    """Returns (fast images/s, baseline images/s, largest difference, GFLOP per image of
    the step) for one preset
    (``config``: a ``SEEConfig`` replacing the preset's own, for tests).  Raises
    ``Disagreement`` when the two steps differ by more than ``tolerance``."""
    model, spec, x, labels = step_inputs(name, config or chainer_see.SEEConfig.preset(name),
                                         batch, seed)
    k = min(batch, CHECK_BATCH)
    diff = check_agreement(model, spec, x[:k], labels[:k], tolerance, seed)

    def baseline_loss(out, lab):
        return reference_loss(spec, out, lab)

    # interleave the two so that load changes on the shared machine hit both alike
    fast_t, base_t = [], []
    for i in range(repeats):
        fast_t.append(_time_step(model, spec, x, labels, 1, warmup if i == 0 else 0))
        with reference_ops():
            base_t.append(_time_step(model, baseline_loss, x, labels, 1,
                                     warmup if i == 0 else 0))
    return (batch / statistics.median(fast_t), batch / statistics.median(base_t), diff,
            step_flops(model, x) / 1e9)


#: an operation stays where it speeds the whole step up at least this much on its own
KEEP = 1.15
#: operations also switched together: pooling and batch normalization work on the fast
#: convolution's output, and one of them switched alone pays for the conversion between
#: the two implementations, which hides what the pair does
GROUPS = {'pooling + batch_norm': ('pooling', 'batch_norm')}


def ablation(name, batch, repeats, warmup, seed=0, config=None):
    """``{op: (images/s with every fast operation, images/s with op plain)}`` of the
    training step of preset ``name``, each op of ``OPS`` switched alone and each group of
    ``GROUPS`` together, interleaved repeats."""
    model, spec, x, labels = step_inputs(name, config or chainer_see.SEEConfig.preset(name),
                                         batch, seed)
    variants = dict([(None, ())] + [(op, (op,)) for op in OPS] + list(GROUPS.items()))
    times = {v: [] for v in variants}
    for i in range(repeats):
        for v, only in variants.items():
            with reference_ops(only=only):
                times[v].append(_time_step(model, spec, x, labels, 1,
                                           warmup if i == 0 else 0))
    fast = batch / statistics.median(times[None])
    return {v: (fast, batch / statistics.median(times[v])) for v in variants if v is not None}


def ablation_table(results, repeats):
    """Print ``--ablation``'s table from ``{preset: ablation(...)}``."""
    names = list(results)
    print('| operation | ' + ' | '.join('%s: speed-up of the step' % n for n in names)
          + ' | keep (>= %.2fx somewhere) |' % KEEP)
    print('|---|' + '---|' * len(names) + '---|')
    for op in results[names[0]]:
        ratios = [results[n][op][0] / results[n][op][1] for n in names]
        print('| %s | %s | %s |' % (op, ' | '.join('%.2fx' % r for r in ratios),
                                   'yes' if max(ratios) >= KEEP else 'no'))
    print('speed-up: images/s of the training step with every fast operation over images/s '
          'with this one plain; median of %d interleaved repeats; %s' % (repeats, ', '.join(
              '%s all fast %.2f img/s' % (n, next(iter(results[n].values()))[0])
              for n in names)))


def main(argv=None, configs=None):
    """``configs``: optional ``{preset: SEEConfig}`` replacing the presets' own (tests).
    Returns the exit status: 0, or 1 when a preset's fast and plain steps disagree."""
    parser = argparse.ArgumentParser(
        description='Forward+backward images/s of the SEE model on the CPU: this project '
                    'vs. a straightforward Chainer implementation of the same network '
                    '(same weights, same data, same process).')
    parser.add_argument('--presets', nargs='+', default=['svhn', 'svhn-grid'],
                        choices=['svhn', 'svhn-grid', 'fsns'], help='presets to measure')
    parser.add_argument('--batch', type=int, default=32, help='batch size (default 32)')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed repeats per implementation; the median is reported')
    parser.add_argument('--warmup', type=int, default=1, help='untimed warm-up steps')
    parser.add_argument('--tolerance', type=float, default=TOLERANCE,
                        help='largest difference allowed between the fast and the plain '
                             'step (logits, boxes, loss, every gradient; max |fast - plain| '
                             'over max |plain|, gradients over the largest plain gradient; '
                             'default %.0e)' % TOLERANCE)
    parser.add_argument('--ablation', action='store_true',
                        help='time each fast operation on its own instead (see above)')
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeats < 1 or args.warmup < 0 or not args.tolerance >= 0:
        parser.error('--batch and --repeats must be >= 1, --warmup and --tolerance >= 0')
    if args.ablation:
        results = {}
        for name in args.presets:
            cfg = (configs or {}).get(name) or chainer_see.SEEConfig.preset(name)
            results[name] = ablation(name, args.batch, args.repeats, args.warmup, config=cfg)
            print('%s done' % name, file=sys.stderr)
        ablation_table(results, args.repeats)
        return 0
    rows = []
    peak = sgemm_gflops()
    for name in args.presets:
        cfg = (configs or {}).get(name) or chainer_see.SEEConfig.preset(name)
        try:
            fast, base, diff, gflop = bench_preset(name, args.batch, args.repeats, args.warmup,
                                            config=cfg, tolerance=args.tolerance)
        except Disagreement as e:
            print('bench_model.py: %s: %s' % (name, e), file=sys.stderr)
            return 1
        rows.append((name, '%dx%d' % tuple(cfg.image_size), cfg.num_regions, args.batch,
                     base, fast, fast / base, diff, gflop, gflop * fast))
        print('%s done' % name, file=sys.stderr)
    print('| preset | image | N | B | baseline img/s | chainer-see img/s | speed-up '
          '| largest difference | GFLOP/img | GFLOP/s | roofline share |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for name, size, n, b, base, fast, ratio, diff, gflop, rate in rows:
        print('| %s | %s | %d | %d | %.2f | %.2f | %.2fx | %.1e | %.2f | %.1f | %.0f %% |'
              % (name, size, n, b, base, fast, ratio, diff, gflop, rate, 100 * rate / peak))
    print('median of %d repeats after %d warm-up step(s); forward + backward, loss included; '
          'difference: max |fast - plain| / max |plain| of logits, boxes, loss and each '
          'gradient (gradients: over the largest plain gradient)' % (args.repeats, args.warmup))
    print('roofline: NumPy sgemm (1024x1024, float32) %.1f GFLOP/s on this machine in this '
          'run; GFLOP/img = 6 x the forward multiply-adds of convolutions and linear '
          'layers; %s' % (peak, ', '.join('%s=%s' % (k, os.environ.get(k, '(unset)'))
                                          for k in ('OPENBLAS_NUM_THREADS', 'OPENBLAS_CORETYPE',
                                                    'OPENBLAS_L2_SIZE'))))
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""One prepared check of chainer-see's GPU path on one GPU, within a time budget.

A GPU machine is lent rarely and for minutes (issue 18), so this script does the whole
check in one run of at most ``--minutes`` (default 8) and writes everything it saw into
one JSON file, stage by stage (atomically, after every stage, so that a run cut short
still leaves what it measured), then prints a summary table.

Stages, in this order, each in its own process and time box; a stage that crashes, fails
or runs out of time is recorded and the next one runs; a stage that no longer fits in
what is left of the budget is skipped with a note:

==================  ====  ==========================================================
stage               box   what
==================  ====  ==========================================================
environment          30s  versions (Python, NumPy, Chainer, CuPy, CUDA), the GPU,
                          cuDNN on or off, nvidia-smi, a CuPy kernel that computes
sampler              90s  the CuPy multi-grid sampler against the NumPy path: forward,
                          gradient to the image and to the grid, float32 and float64,
                          random points and edge cases (outside, pixel centres,
                          borders, clip ends; ``tests/functions/sampler_cases.py``)
step                150s  one SEE training step (forward, loss, backward) of svhn,
                          svhn-grid and fsns on the GPU and on the CPU from the same
                          weights and batch: loss, outputs and every parameter gradient
train               200s  ``train.py --gpus 0`` 200 iterations of synthetic-svhn, then
                          ``evaluate.py --gpu 0`` and ``predict.py --gpu 0`` on its
                          model, each compared with the same command on the CPU
speed-svhn           60s  training step (forward, loss, backward, Adam with weight
speed-svhn-grid      60s  decay and clipping) images/s and the CuPy memory pool's
speed-fsns           90s  peak, at the published batch sizes (32, 16, 8)
grid                rest  ``train.py --dataset synthetic-grid --gpus 0`` for the minutes
                          left (at least 1), then ``evaluate.py --gpu 0`` on its model
==================  ====  ==========================================================

Without a usable GPU (CuPy or Chainer's CUDA backend not importable, no device) the
script exits 2 at once with one line on stderr.  ``--cpu-dry-run`` runs every stage on
the CPU with tiny sizes instead: it tests the script (processes, time boxes, JSON,
table), not the GPU.

Chainer 7.8.1 needs ``numpy<2`` and ``pkg_resources`` and imports ``numpy.distutils``;
on a machine that only has NumPy 2 / Python 3.12 (such as the lent GPU machine, whose
CuPy 14 needs NumPy 2) the script adds the three missing names before Chainer is
imported, in its own processes and through a ``sitecustomize.py`` on ``PYTHONPATH`` in
those it starts, and records which it added (``compat_shims`` in the JSON).

Exit status: 0 every stage that ran passed; 1 a stage failed, crashed or ran out of
time; 2 no GPU, bad options, or Chainer does not import.
"""
import argparse
import collections
import datetime
import functools
import glob
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __name__ == '__main__' and __package__ in (None, ''):
    sys.path.insert(0, REPO)

PROG = 'gpu_check.py'

#: name, what the table calls it, time box in seconds (None: what is left), the least
#: time worth starting it with
Stage = collections.namedtuple('Stage', ['name', 'title', 'box_s', 'min_s'])
STAGES = (
    Stage('environment', 'versions, GPU, cuDNN', 30, 5),
    Stage('sampler', 'CuPy sampler vs NumPy', 90, 15),
    Stage('step', 'SEE step GPU vs CPU', 150, 30),
    Stage('train', 'train/evaluate/predict', 200, 60),
    Stage('speed-svhn', 'speed svhn B=32', 60, 20),
    Stage('speed-svhn-grid', 'speed svhn-grid B=16', 60, 20),
    Stage('speed-fsns', 'speed fsns B=8', 90, 30),
    # a minute of training at least, the start and the evaluation, the grace time
    Stage('grid', '200x200 grid experiment', None, 170),
)
#: seconds kept back at the end for the report; seconds a stage may run past its box
#: (a training run that is told to stop writes its model first)
RESERVE_S = 10
GRACE_S = 25

#: environment variables of a stage's processes (not set where the caller set them):
#: the GPU-vs-CPU comparison runs in plain float32, without TF32 (cuDNN allows TF32 on
#: Ampere and newer unless told not to), which would be a 1e-3 error of its own
STAGE_ENV = {'step': {'NVIDIA_TF32_OVERRIDE': '0'}}

#: files copied into --artifacts: (file under the work folder, name there)
ARTIFACTS = (('svhn-run/loss.png', 'svhn-loss.png'),
             ('grid-run/loss.png', 'grid-loss.png'),
             ('grid-run/accuracy.png', 'grid-accuracy.png'),
             ('grid-run/boxes/iter_*.png', 'grid-boxes.png'))


def now():
    """The clock of the budget (a function, so that the tests can move it)."""
    return time.monotonic()


# --------------------------------------------------------------- Chainer on NumPy 2

COMPAT_SOURCE = r'''
# Written by benchmarks/gpu_check.py: lets Chainer 7.8.1 import where NumPy 2 or
# Python 3.12 took away names it uses (only the missing ones are added).
import sys as _sys
import types as _types
APPLIED = []
try:
    import numpy as _np
except ImportError:
    _np = None
if _np is not None and not hasattr(_np, 'sctypes'):      # gone in NumPy 2.0
    _np.sctypes = {
        'int': [_np.int8, _np.int16, _np.int32, _np.int64],
        'uint': [_np.uint8, _np.uint16, _np.uint32, _np.uint64],
        'float': [_np.float16, _np.float32, _np.float64],
        'complex': [_np.complex64, _np.complex128],
        'others': [bool, object, bytes, str, _np.void]}
    APPLIED.append('numpy.sctypes')
if _np is not None:
    try:
        import numpy.distutils.system_info  # noqa: F401  (gone on Python 3.12)
    except Exception:
        _d = _types.ModuleType('numpy.distutils')
        _d.system_info = _types.ModuleType('numpy.distutils.system_info')
        _d.system_info.get_info = lambda name, notfound_action=0: {}
        _sys.modules['numpy.distutils'] = _d
        _sys.modules['numpy.distutils.system_info'] = _d.system_info
        APPLIED.append('numpy.distutils')
try:
    import pkg_resources  # noqa: F401  (gone from recent setuptools)
except Exception:
    _p = _types.ModuleType('pkg_resources')

    class DistributionNotFound(Exception):
        pass

    class VersionConflict(Exception):
        pass

    def _not_found(*args, **kwargs):
        raise DistributionNotFound(args)
    _p.DistributionNotFound, _p.VersionConflict = DistributionNotFound, VersionConflict
    _p.require = _p.get_distribution = _not_found
    _sys.modules['pkg_resources'] = _p
    APPLIED.append('pkg_resources')
'''


def apply_compat():
    """Add the names Chainer 7.8.1 misses here (see :data:`COMPAT_SOURCE`); returns the
    list of those added (empty on the project's own pins: NumPy 1.26, Python 3.11)."""
    scope = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        exec(compile(COMPAT_SOURCE, 'gpu_check-compat', 'exec'), scope)
    return scope['APPLIED']


def compat_applied(own=()):
    """The shims of this process: ``own`` and those our ``sitecustomize`` added."""
    site = sys.modules.get('sitecustomize')
    return sorted(set(own) | set(getattr(site, 'APPLIED', None) or []))


def child_pythonpath(compat_dir):
    """``PYTHONPATH`` of the processes the check starts: the shim folder (when the shims
    were needed), the repository, then the caller's."""
    parts = [p for p in (compat_dir, REPO, os.environ.get('PYTHONPATH')) if p]
    return os.pathsep.join(parts)


def write_compat(folder):
    """``folder/sitecustomize.py`` holding :data:`COMPAT_SOURCE`; returns ``folder``."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'sitecustomize.py'), 'w') as f:
        f.write(COMPAT_SOURCE)
    return folder


# ------------------------------------------------------------------ GPU detection

def _first_line(error):
    text = str(error).strip().splitlines()
    return '%s: %s' % (type(error).__name__, text[0]) if text else type(error).__name__


def detect_gpu(index=0):
    """``(info, None)`` for a GPU that CuPy and Chainer can use, else ``(None, reason)``.

    ``info``: ``name``, ``index``, ``count``, ``memory_gib``, ``compute_capability``,
    ``multiprocessors``, ``cuda_runtime``, ``cuda_driver``.  Creates no CUDA context.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            import cupy
        except Exception as e:   # noqa: BLE001  (ImportError, or a broken CUDA library)
            return None, 'CuPy does not import (%s)' % _first_line(e)
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:   # noqa: BLE001  (CUDARuntimeError: no driver, ...)
            return None, 'CUDA finds no usable device (%s)' % _first_line(e)
        if count < 1:
            return None, 'CUDA finds no device'
        if index >= count:
            return None, '--gpu %d, but this machine has %d GPU(s)' % (index, count)
        try:
            from chainer.backends import cuda
        except Exception as e:   # noqa: BLE001
            return None, 'Chainer does not import (%s)' % _first_line(e)
        if not cuda.available:
            why = getattr(cuda, '_resolution_error', 'unknown')
            return None, 'Chainer cannot use CuPy (%s)' % _first_line(why)
        rt = cupy.cuda.runtime
        props = rt.getDeviceProperties(index)
        name = props['name']
        return {'name': name.decode() if isinstance(name, bytes) else str(name),
                'index': index, 'count': count,
                'memory_gib': round(props['totalGlobalMem'] / 2.0 ** 30, 1),
                'compute_capability': '%d.%d' % (props['major'], props['minor']),
                'multiprocessors': props['multiProcessorCount'],
                'cuda_runtime': rt.runtimeGetVersion(),
                'cuda_driver': rt.driverGetVersion()}, None


# ------------------------------------------------------------------- a stage's run

class StageContext(object):
    """What a stage function gets: where to work, on which device, until when, and
    where its figures and checks go (written to ``result`` after each change)."""

    def __init__(self, name, work, gpu, dry_run, seconds, result=None, pythonpath=None):
        self.name, self.work, self.gpu, self.dry_run = name, work, gpu, dry_run
        self.deadline = now() + seconds
        self.result_path = result
        self.pythonpath = pythonpath
        self.record = {'status': 'running', 'figures': {}, 'checks': [], 'notes': []}
        self.running = None          # the process group of the command now running

    @property
    def figures(self):
        return self.record['figures']

    @property
    def device_name(self):
        """Chainer's device of the stage: CuPy's GPU, or the CPU in a dry run."""
        return '@numpy' if self.dry_run else '@cupy:%d' % self.gpu

    @property
    def gpu_arg(self):
        """``--gpu`` / ``--gpus`` value of the scripts: this GPU, or -1 in a dry run."""
        return '-1' if self.dry_run else str(self.gpu)

    def left(self):
        return self.deadline - now()

    def check(self, what, ok, detail=None):
        """Record a pass/fail check; a failed one makes the stage fail (not stop)."""
        self.record['checks'].append({'check': what, 'ok': bool(ok), 'detail': detail})
        self.save()
        return bool(ok)

    def note(self, text):
        self.record['notes'].append(text)
        self.save()

    def summary(self, text):
        """The stage's line in the summary table."""
        self.figures['summary'] = text
        self.save()

    def finish(self, error=None):
        if error is not None:
            self.record['status'] = 'error'
            self.record['error'] = _first_line(error)
            self.record['traceback'] = traceback.format_exc()[-3000:]
        else:
            failed = [c for c in self.record['checks'] if not c['ok']]
            self.record['status'] = 'failed' if failed else 'passed'
        self.save()

    def save(self):
        if self.result_path:
            self.record['running_pgid'] = self.running
            _write_json(self.result_path, self.record)

    def env(self):
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        if self.pythonpath:
            env['PYTHONPATH'] = self.pythonpath
        return env


def run_command(ctx, key, argv, timeout, stdout_file=False):
    """Run ``python argv...`` in the repository, in its own process group, output to
    ``work/logs/KEY.log`` (stdout to ``KEY.out`` with ``stdout_file``), stopped (SIGTERM,
    then SIGKILL) after ``timeout`` seconds; not started with less than 2 s.  Records
    and returns ``{'argv', 'rc', 'seconds', 'timed_out', 'tail'}`` under
    ``figures['commands'][key]``.
    """
    logs = os.path.join(ctx.work, 'logs')
    os.makedirs(logs, exist_ok=True)
    log_path = os.path.join(logs, key + '.log')
    t0 = now()
    done = {'argv': ' '.join(argv), 'rc': None, 'seconds': 0.0, 'timed_out': True,
            'tail': 'not started: %.0f s left in the time box' % timeout}
    ctx.figures.setdefault('commands', {})[key] = done
    if timeout < 2:
        ctx.save()
        return done
    with open(log_path, 'wb') as log:
        out = open(os.path.join(logs, key + '.out'), 'wb') if stdout_file else log
        with out:
            p = subprocess.Popen([sys.executable] + list(argv), cwd=REPO, env=ctx.env(),
                                 stdout=out, stderr=log if stdout_file else subprocess.STDOUT,
                                 start_new_session=True)
            ctx.running = p.pid
            ctx.save()
            try:
                p.wait(timeout=timeout)
                done['timed_out'] = False
            except subprocess.TimeoutExpired:
                stop_group(p, 10)
            ctx.running = None
    with open(log_path, 'rb') as log:
        tail = log.read()[-1500:].decode('utf-8', 'replace')
    done.update(rc=p.returncode, seconds=round(now() - t0, 1),
                tail=tail if (p.returncode or done['timed_out']) else None)
    ctx.save()
    return done


def stop_group(p, grace):
    """SIGTERM the process group of ``p``, SIGKILL it after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except OSError:
            pass
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _write_json(path, doc):
    from chainer_see.atomic import write_text
    write_text(path, json.dumps(doc, indent=1, sort_keys=False, default=_json_default) + '\n')


def _json_default(v):
    try:
        return v.item()          # NumPy scalars
    except AttributeError:
        return str(v)


# ---------------------------------------------------------------- stage: environment

def stage_environment(ctx):
    """Versions, the GPU, cuDNN, nvidia-smi, and a CuPy reduction that must be right."""
    import numpy
    import chainer
    f = ctx.figures
    f.update(python=platform.python_version(), numpy=numpy.__version__,
             chainer=chainer.__version__, compat_shims=compat_applied(apply_compat()),
             cpus=os.cpu_count(), platform=platform.platform())
    f['env'] = {k: os.environ.get(k) for k in (
        'CUDA_VISIBLE_DEVICES', 'NVIDIA_TF32_OVERRIDE', 'CUPY_TF32', 'CHAINER_CUDNN',
        'CUPY_CACHE_DIR', 'OMP_NUM_THREADS') if os.environ.get(k) is not None}
    if ctx.dry_run:
        ctx.summary('CPU dry run; numpy %s, chainer %s' % (numpy.__version__, chainer.__version__))
        return
    import cupy
    from chainer.backends import cuda
    info, why = detect_gpu(ctx.gpu)
    f.update(cupy=cupy.__version__, gpu=info, chainer_cuda=cuda.available,
             cudnn=cuda.cudnn_enabled)
    if not cuda.cudnn_enabled:
        f['cudnn_why'] = _first_line(getattr(cuda, '_resolution_error', 'disabled'))
    f['nvidia_smi'] = _nvidia_smi()
    n = 1 << 20
    with cupy.cuda.Device(ctx.gpu):
        a = cupy.arange(n, dtype=cupy.int64)
        got = int((a * a).sum())
    ctx.check('a CuPy reduction on the GPU is exact', got == (n - 1) * n * (2 * n - 1) // 6, got)
    ctx.summary('%s, CuPy %s, cuDNN %s, numpy %s%s' % (
        info['name'] if info else '?', cupy.__version__, 'on' if cuda.cudnn_enabled else 'off',
        numpy.__version__, ' (shims: %s)' % ', '.join(f['compat_shims'])
        if f['compat_shims'] else ''))


def _error_detail(error):
    """An exception as its line and the end of its traceback (for a check's detail)."""
    return {'error': _first_line(error), 'traceback': traceback.format_exc()[-1500:]}


def _nvidia_smi():
    query = 'name,driver_version,memory.total,clocks.max.sm,power.limit'
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=' + query, '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=15)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return _first_line(e)


# -------------------------------------------------------------------- stage: sampler

#: (label, (B, N, C, H, W, Ho, Wo), share of grid values on edge cases); ``H - 1`` and
#: ``W - 1`` powers of two make pixel centres, borders and clip ends exact in binary
SAMPLER_CASES = (
    ('random', (4, 3, 3, 33, 65, 16, 24), 0.0),
    ('edges', (2, 3, 3, 9, 17, 6, 7), 0.9),
    ('edges-rounded', (3, 2, 4, 7, 10, 6, 3), 0.9),     # special points rounded
    ('all-special', (1, 1, 1, 5, 3, 1, 4), 1.0),
    ('large', (16, 4, 3, 200, 200, 50, 50), 0.1),       # svhn-grid sizes: atomics collide
)
#: |device - NumPy| <= tol * (1 + |NumPy|), as tests/functions/test_cuda_kernels.py
SAMPLER_TOL = {'float32': 2e-5, 'float64': 1e-12}


def stage_sampler(ctx):
    """The CuPy sampler against the NumPy path on the same inputs and output gradient."""
    import numpy
    cases = SAMPLER_CASES
    if ctx.dry_run:
        cases = SAMPLER_CASES[:4] + (('large', (2, 2, 3, 20, 20, 5, 5), 0.1),)
    worst = 0.0
    for label, shape, special in cases:
        for dtype in ('float32', 'float64'):
            if ctx.left() < 5:
                ctx.note('time box spent before %s/%s' % (label, dtype))
                ctx.check('all sampler cases ran', False, 'time')
                return
            what = 'sampler %s %s matches NumPy' % (label, dtype)
            try:
                errs = _sampler_case(ctx, shape, numpy.dtype(dtype), special)
            except Exception as e:   # noqa: BLE001  (recorded; the other cases go on)
                ctx.check(what, False, _error_detail(e))
                worst = float('inf')
                continue
            ctx.figures['%s/%s' % (label, dtype)] = errs
            ok = errs['worst_over_tol'] <= 1.0 and errs['finite']
            ctx.check(what, ok, errs)
            worst = max(worst, errs['worst_over_tol'])
    ctx.figures['worst_over_tol'] = worst
    ctx.summary('%d cases x float32/64; worst error %.2g of the tolerance'
                % (len(cases), worst))


def _sampler_case(ctx, shape, dtype, special):
    import numpy
    import chainer
    from chainer_see.functions import multi_grid_sampler
    from tests.functions.sampler_cases import forward_backward, make_case
    x, grid = make_case(*shape, dtype=dtype, seed=sum(shape), special=special)
    B, N, C, _, _, Ho, Wo = shape
    gy = numpy.random.RandomState(1).uniform(-1, 1, (B, N, C, Ho, Wo)).astype(dtype)
    ref = forward_backward(multi_grid_sampler, x, grid, gy)
    dev = chainer.get_device(ctx.device_name)
    got = forward_backward(multi_grid_sampler, dev.send(x), dev.send(grid), dev.send(gy))
    got = [chainer.backend.CpuDevice().send(a) for a in got]
    tol = SAMPLER_TOL[dtype.name]
    out = {'finite': all(bool(numpy.isfinite(a).all()) for a in got)}
    worst = 0.0
    for name, a, b in zip(('y', 'gx', 'ggrid'), got, ref):
        if a.shape != b.shape or a.dtype != b.dtype:
            out[name] = 'shape/dtype %s %s != %s %s' % (a.shape, a.dtype, b.shape, b.dtype)
            worst = float('inf')
            continue
        diff = numpy.abs(a.astype(numpy.float64) - b)
        out[name] = float(diff.max()) if diff.size else 0.0
        if diff.size:
            worst = max(worst, float((diff / (tol * (1 + numpy.abs(b)))).max()))
    out['worst_over_tol'] = worst
    return out


# ----------------------------------------------------------------------- stage: step

#: (preset, batch) of the GPU-vs-CPU step; small batches: the CPU runs it too
STEP_CASES = (('svhn', 8), ('svhn-grid', 4), ('fsns', 2))
#: Relative tolerances of the GPU-vs-CPU step.  Both run float32 (eps 6e-8), the GPU
#: without TF32.  The sums of a step have 1e3 to 1e6 terms taken in another order on
#: each device (cuBLAS/cuDNN tiling, atomicAdd in the sampler's image gradient, the
#: batch statistics of BN), which gives relative errors near 1e-6 in activations that
#: grow through 20 to 150 layers and the backward pass to 1e-5..1e-4; a wrong kernel
#: gives errors near 1.  So: loss (and its parts) 1e-4; the whole gradient (all
#: parameters as one vector) 1e-3; each parameter's gradient 1e-2, against its norm
#: plus 1e-3 of the whole gradient's norm (parameters whose true gradient is about 0,
#: such as conv biases before a batch normalization, hold only rounding noise).
STEP_TOL = {'loss': 1e-4, 'grad': 1e-3, 'param': 1e-2, 'floor': 1e-3}


def stage_step(ctx):
    """One SEE step on the GPU and the CPU from the same weights and batch."""
    cases = (('svhn', 2),) if ctx.dry_run else STEP_CASES
    for preset, batch in cases:
        if ctx.left() < 10:
            ctx.check('all presets compared', False, 'time box spent before %s' % preset)
            break
        try:
            ctx.figures[preset] = fig = _compare_step(ctx, preset, batch)
        except Exception as e:   # noqa: BLE001  (recorded; the other presets go on)
            ctx.check('%s step runs on both devices' % preset, False, _error_detail(e))
            continue
        ctx.check('%s loss GPU = CPU' % preset, fig['loss_rel'] <= STEP_TOL['loss'],
                  fig['loss_rel'])
        ctx.check('%s gradient GPU = CPU' % preset, fig['grad_rel'] <= STEP_TOL['grad'],
                  fig['grad_rel'])
        ctx.check('%s each parameter\'s gradient' % preset,
                  fig['worst_param_rel'] <= STEP_TOL['param'], fig['worst_params'][:3])
    done = [p for p, _ in cases if p in ctx.figures]
    if not done:
        ctx.summary('no preset compared')
        return
    ctx.summary('; '.join('%s loss %.1e grad %.1e' % (
        p, ctx.figures[p]['loss_rel'], ctx.figures[p]['grad_rel']) for p in done))


def _step(model, loss_fn, x, labels, seed):
    """Forward, loss, backward; ``(loss, parts, output arrays, {param: grad})`` on the CPU."""
    import numpy
    from chainer.backend import CpuDevice
    cpu = CpuDevice()
    numpy.random.seed(seed)      # the same rotation-dropout draw on both devices
    out = model(x)
    loss, parts = loss_fn(out, labels)
    model.cleargrads()
    loss.backward()
    grads = {name: cpu.send(p.grad) for name, p in model.namedparams() if p.grad is not None}
    arrays = {'logits': cpu.send(out.logits.array), 'grids': cpu.send(out.grids.array)}
    return float(loss.array), {k: float(v) for k, v in parts.items()}, arrays, grads


def _compare_step(ctx, preset, batch):
    import numpy
    import chainer
    import chainer_see
    from chainer_see.training.loss import SEELoss
    cfg = chainer_see.SEEConfig.preset(preset)
    numpy.random.seed(0)
    model = chainer_see.SEE(cfg)
    twin = model.copy(mode='copy')
    dev = chainer.get_device(ctx.device_name)
    twin.to_device(dev)
    rng = numpy.random.RandomState(1)
    x = rng.rand(batch, 3, *cfg.image_size).astype(numpy.float32)
    labels = rng.randint(0, cfg.num_classes, (batch, cfg.num_regions, cfg.num_chars)
                         ).astype(numpy.int32)
    loss_fn = SEELoss.preset(preset, config=cfg)
    t0 = now()
    g_loss, g_parts, g_out, g_grads = _step(twin, loss_fn, dev.send(x), dev.send(labels), 2)
    t1 = now()
    c_loss, c_parts, c_out, c_grads = _step(model, loss_fn, x, labels, 2)
    fig = {'batch': batch, 'loss_gpu': g_loss, 'loss_cpu': c_loss,
           'loss_rel': abs(g_loss - c_loss) / max(abs(c_loss), 1e-12),
           'parts_rel': {k: abs(g_parts[k] - v) / max(abs(v), 1e-12)
                         for k, v in c_parts.items()},
           'seconds_gpu': round(t1 - t0, 2), 'seconds_cpu': round(now() - t1, 2)}
    for k in c_out:
        fig[k + '_max_abs'] = float(numpy.abs(g_out[k] - c_out[k]).max())
    fig.update(_grad_errors(g_grads, c_grads))
    return fig


def _grad_errors(got, ref):
    """Whole-gradient and per-parameter relative errors (see :data:`STEP_TOL`)."""
    import numpy
    missing = sorted(set(ref) ^ set(got))
    names = sorted(set(ref) & set(got))
    total = float(numpy.sqrt(sum(float((ref[n].astype(numpy.float64) ** 2).sum())
                                 for n in names)))
    diffs = {n: float(numpy.linalg.norm((got[n].astype(numpy.float64) - ref[n]).ravel()))
             for n in names}
    whole = float(numpy.sqrt(sum(d * d for d in diffs.values())))
    floor = STEP_TOL['floor'] * total
    rel = {n: diffs[n] / (float(numpy.linalg.norm(ref[n].ravel())) + floor + 1e-30)
           for n in names}
    worst = sorted(rel.items(), key=lambda kv: -kv[1])
    return {'params': len(names), 'missing_grads': missing, 'grad_norm': total,
            'grad_rel': whole / max(total, 1e-30) if not missing else float('inf'),
            'worst_param_rel': worst[0][1] if worst else 0.0,
            'worst_params': [[n, r] for n, r in worst[:5]]}


# ---------------------------------------------------------------------- stage: train

def train_sizes(dry_run):
    """Sizes of the train stage (a dry run: tiny)."""
    if dry_run:
        return {'iterations': 2, 'batch': 2, 'validation': 4, 'interval': 1, 'count': 4}
    return {'iterations': 200, 'batch': 32, 'validation': 128, 'interval': 100, 'count': 256}


def _loader_args(dry_run):
    if dry_run:
        return [['--loader', 'serial']]
    workers = str(max(2, min(8, (os.cpu_count() or 4) - 2)))
    # worker processes feed a GPU; the serial loader is the fallback if they fail
    return [['--loader', 'process', '--loader-workers', workers], ['--loader', 'serial']]


def stage_train(ctx):
    """train.py --gpus 0 (200 iterations of synthetic-svhn), evaluate.py and predict.py
    --gpu 0 on its model, each compared with the same command on the CPU."""
    s = train_sizes(ctx.dry_run)
    out = os.path.join(ctx.work, 'svhn-run')
    base = ['train.py', '--dataset', 'synthetic-svhn', '--iterations', str(s['iterations']),
            '--batch-size', str(s['batch']), '--validation-size', str(s['validation']),
            '--test-interval', str(s['interval']), '--out', out, '--quiet']
    if not ctx.dry_run:
        base += ['--gpus', ctx.gpu_arg]
    for attempt, loader in enumerate(_loader_args(ctx.dry_run)):
        argv = base + loader + (['--overwrite'] if attempt else [])
        done = run_command(ctx, 'train-%s' % loader[1], argv, ctx.left() - 60)
        if done['rc'] in (0, 130) or done['timed_out']:
            break     # done, or stopped by time: another loader would not be faster
        ctx.note('train.py with --loader %s: exit %s' % (loader[1], done['rc']))
    ctx.check('train.py --gpus exits 0', done['rc'] == 0, done['tail'])
    ctx.figures['training'] = _run_figures(out, s['batch'])
    model = os.path.join(out, 'model.npz')
    if not ctx.check('train.py wrote model.npz', os.path.exists(model)):
        return
    ev = _evaluate_both(ctx, model, s['count'])
    words = _predict_both(ctx, model)
    t = ctx.figures['training']
    ctx.summary('%s it/s; eval seq.acc %s; predict %r' % (
        _fmt(t.get('iterations_per_s')), _fmt(ev.get('sequence_accuracy')), words))


def _run_figures(out, batch):
    """Figures of a train.py run folder: iterations, speed, the last log entry."""
    try:
        with open(os.path.join(out, 'log')) as f:
            log = json.load(f)
    except (OSError, ValueError) as e:
        return {'log': _first_line(e)}
    if not log:
        return {'log': 'empty'}
    last = log[-1]
    it, secs = last.get('iteration'), last.get('elapsed_time')
    fig = {'iterations': it, 'elapsed_s': secs, 'last_log': last,
           'level': last.get('level')}
    if it and secs:
        fig['iterations_per_s'] = it / secs
        fig['images_per_s'] = it * batch / secs
    return fig


def _evaluate(ctx, key, model, gpu, count, extra=()):
    out = os.path.join(ctx.work, key)
    argv = ['evaluate.py', model, '--gpu', gpu, '--count', str(count), '--batch-size', '64',
            '--out', out, '--no-progress'] + list(extra)
    done = run_command(ctx, key, argv, min(ctx.left() - 5, 120))
    try:
        with open(os.path.join(out, 'report.json')) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return done, {}
    keys = ('sequence_accuracy', 'word_accuracy', 'char_accuracy', 'edit_distance',
            'mean_iou', 'iou50')
    return done, {k: report.get(k) for k in keys}


def _evaluate_both(ctx, model, count):
    done, gpu = _evaluate(ctx, 'evaluate-gpu', model, ctx.gpu_arg, count)
    ctx.figures['evaluate_gpu'] = gpu
    ctx.check('evaluate.py --gpu exits 0 with a report', done['rc'] == 0 and gpu, done['tail'])
    done, cpu = _evaluate(ctx, 'evaluate-cpu', model, '-1', count)
    ctx.figures['evaluate_cpu'] = cpu
    if done['rc'] == 0 and gpu and cpu:
        # a reading may flip where two classes tie to rounding: allow 2 images
        diff = abs((gpu['sequence_accuracy'] or 0) - (cpu['sequence_accuracy'] or 0))
        ctx.check('evaluate.py: GPU and CPU accuracy agree', diff <= 2.0 / count + 1e-9,
                  {'gpu': gpu['sequence_accuracy'], 'cpu': cpu['sequence_accuracy']})
    return gpu


def _predict_both(ctx, model):
    image = _sample_image(ctx)
    words = {}
    for key, gpu in (('predict-gpu', ctx.gpu_arg), ('predict-cpu', '-1')):
        what = 'predict.py --gpu %s' % gpu
        argv = ['predict.py', model, image, '--gpu', gpu, '--json',
                '--out', os.path.join(ctx.work, key)]
        done = run_command(ctx, key, argv, min(ctx.left() - 2, 60), stdout_file=True)
        words[key] = _predicted_words(os.path.join(ctx.work, 'logs', key + '.out'))
        ctx.check('%s exits 0 and reads the image' % what,
                  done['rc'] == 0 and words[key] is not None, done['tail'])
    ctx.figures['predict'] = words
    if None not in words.values():
        ctx.check('predict.py: GPU and CPU read the same words',
                  words['predict-gpu'] == words['predict-cpu'], words)
    return words.get('predict-gpu')


def _sample_image(ctx):
    """A synthetic house-number image (PNG) for predict.py."""
    from PIL import Image
    import numpy
    from chainer_see.data.synthetic import SyntheticDataset
    x, _ = SyntheticDataset('svhn-crops', 1, seed=12345)[0]
    path = os.path.join(ctx.work, 'sample.png')
    Image.fromarray((numpy.transpose(x, (1, 2, 0)) * 255).round().astype('uint8')).save(path)
    return path


def _predicted_words(log_path):
    """The words of predict.py --json's document (its stdout), or None."""
    try:
        with open(log_path) as f:
            doc = json.load(f)
        return [d.get('words', d.get('error')) for d in doc]
    except (OSError, ValueError):
        return None


def _fmt(v):
    return 'n/a' if v is None else '%.3g' % v if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------- stage: speed

#: the published batch sizes (README, docs/reproduce.md: per GPU)
SPEED_BATCH = {'svhn': 32, 'svhn-grid': 16, 'fsns': 8}


def stage_speed(ctx, preset):
    """Training-step images/s and the memory pool's peak for one preset."""
    import numpy
    import chainer
    import chainer_see
    from chainer_see.training.loss import SEELoss
    from chainer_see.training.optimizer import make_optimizer
    batch = 1 if ctx.dry_run else SPEED_BATCH[preset]
    # a dry run tests the stage, not the speed: ResNet-18 instead of -152 for fsns
    small = {'backbone': 'resnet18'} if ctx.dry_run and preset == 'fsns' else {}
    cfg = chainer_see.SEEConfig.preset(preset, **small)
    dev = chainer.get_device(ctx.device_name)
    pool = _memory_pool(ctx)
    numpy.random.seed(0)
    model = chainer_see.SEE(cfg)
    model.to_device(dev)
    opt = make_optimizer(model)       # Adam, weight decay 5e-4, clipping at 2: train.py's
    rng = numpy.random.RandomState(0)
    x = dev.send(rng.rand(batch, 3, *cfg.image_size).astype(numpy.float32))
    labels = dev.send(rng.randint(0, cfg.num_classes, (batch, cfg.num_regions,
                                                       cfg.num_chars)).astype(numpy.int32))
    loss_fn = SEELoss.preset(preset, config=cfg)

    def step():
        loss, _ = loss_fn(model(x), labels)
        model.cleargrads()
        loss.backward()
        opt.update()
        _synchronize(dev)
    times = _timed_steps(ctx, step, warmup=1 if ctx.dry_run else 2,
                         most=1 if ctx.dry_run else 20)
    fig = ctx.figures
    fig.update(batch=batch, image_size=list(cfg.image_size), first_step_s=times['first'],
               config_changes=small,
               steps=len(times['timed']), step_ms=[round(t * 1e3, 2) for t in times['timed']])
    if times['timed']:
        med = sorted(times['timed'])[len(times['timed']) // 2]
        fig['images_per_s'] = batch / med
    fig.update(_memory_figures(pool))
    ok = ctx.check('timed at least 3 steps' if not ctx.dry_run else 'timed a step',
                   len(times['timed']) >= (1 if ctx.dry_run else 3), len(times['timed']))
    ctx.summary('%s img/s, peak %s MiB, %d steps' % (
        _fmt(fig.get('images_per_s')), _fmt(fig.get('pool_peak_mib')), len(times['timed']))
        if ok else 'too few steps in the time box')


def _synchronize(device):
    """Wait for the GPU (nothing on the CPU)."""
    cuda_device = getattr(device, 'device', None)
    if hasattr(cuda_device, 'synchronize'):
        cuda_device.synchronize()


def _timed_steps(ctx, step, warmup, most):
    """Warm-up steps (the first one compiles the kernels), then timed steps until
    ``most`` or the time box (5 s and 1.5 steps kept back)."""
    t0 = now()
    step()
    first = last = now() - t0
    for _ in range(warmup - 1):
        t = now()
        step()
        last = now() - t
    timed = []
    while len(timed) < most and ctx.left() > 5 + 1.5 * (max(timed) if timed else last):
        t = now()
        step()
        timed.append(now() - t)
    return {'first': round(first, 3), 'timed': timed}


def _memory_pool(ctx):
    """CuPy's default memory pool, emptied (None in a dry run)."""
    if ctx.dry_run:
        return None
    import gc
    import cupy
    gc.collect()
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    return pool


def _memory_figures(pool):
    """The pool keeps freed blocks, so its total after the steps is the peak it held."""
    if pool is None:
        return {'pool_peak_mib': None}
    import cupy
    free, total = cupy.cuda.runtime.memGetInfo()
    return {'pool_peak_mib': round(pool.total_bytes() / 2.0 ** 20, 1),
            'pool_used_mib': round(pool.used_bytes() / 2.0 ** 20, 1),
            'device_used_mib': round((total - free) / 2.0 ** 20, 1)}


# ----------------------------------------------------------------------- stage: grid

def stage_grid(ctx):
    """synthetic-grid (200x200, curriculum 1 -> 4 numbers) on the GPU for the minutes
    left, then evaluate.py --gpu 0 on its model."""
    eval_s, start_s = (30, 10) if ctx.dry_run else (60, 20)
    minutes = (ctx.left() - eval_s - start_s) / 60.0
    if minutes < (0.05 if ctx.dry_run else 1.0):
        ctx.note('%.1f minute(s) left for training: not run' % max(minutes, 0))
        ctx.summary('not run: too little time')
        return
    out = os.path.join(ctx.work, 'grid-run')
    argv = ['train.py', '--dataset', 'synthetic-grid', '--time-limit', '%.2f' % minutes,
            '--out', out, '--quiet']
    if ctx.dry_run:
        argv += ['--iterations', '2', '--batch-size', '1', '--validation-size', '2',
                 '--test-interval', '1', '--loader', 'serial']
    else:
        argv += ['--gpus', ctx.gpu_arg] + _loader_args(False)[0]
    ctx.figures['minutes'] = round(minutes, 2)
    done = run_command(ctx, 'train-grid', argv, ctx.left() - eval_s)
    ctx.check('train.py synthetic-grid exits 0', done['rc'] == 0, done['tail'])
    ctx.figures['training'] = t = _run_figures(out, 1 if ctx.dry_run else 16)
    model = os.path.join(out, 'model.npz')
    if not ctx.check('train.py wrote model.npz', os.path.exists(model)):
        return
    done, ev = _evaluate(ctx, 'evaluate-grid', model, ctx.gpu_arg, 2 if ctx.dry_run else 512)
    ctx.figures['evaluate'] = ev
    ctx.check('evaluate.py --gpu exits 0 with a report', done['rc'] == 0 and ev, done['tail'])
    ctx.summary('%s min, %s it., level %s; seq.acc %s, IoU %s' % (
        _fmt(minutes), _fmt(t.get('iterations')), _fmt(t.get('level')),
        _fmt(ev.get('sequence_accuracy')), _fmt(ev.get('mean_iou'))))


STAGE_FUNCTIONS = {
    'environment': stage_environment,
    'sampler': stage_sampler,
    'step': stage_step,
    'train': stage_train,
    'speed-svhn': functools.partial(stage_speed, preset='svhn'),
    'speed-svhn-grid': functools.partial(stage_speed, preset='svhn-grid'),
    'speed-fsns': functools.partial(stage_speed, preset='fsns'),
    'grid': stage_grid,
}


# ------------------------------------------------------------------ running stages

def run_stage_process(stage, opts, seconds):
    """Run one stage in a child process of this script; returns its record.

    The child writes its record after every check, so a stage stopped at its time box
    (status ``timeout``) keeps what it measured; a child that dies without a final
    record is ``crashed``.
    """
    result = os.path.join(opts.work, 'stage-%s.json' % stage.name)
    argv = [sys.executable, os.path.abspath(__file__), '--run-stage', stage.name,
            '--result', result, '--seconds', '%.1f' % seconds, '--work', opts.work,
            '--gpu', str(opts.gpu)] + (['--cpu-dry-run'] if opts.cpu_dry_run else [])
    env = dict(os.environ, PYTHONPATH=opts.pythonpath, PYTHONUNBUFFERED='1')
    for k, v in STAGE_ENV.get(stage.name, {}).items():
        env.setdefault(k, v)
    log_path = os.path.join(opts.work, 'logs', 'stage-%s.log' % stage.name)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, 'wb') as log:
        p = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            p.wait(timeout=seconds + GRACE_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            stop_group(p, 15)
    record = _read_record(result)
    _stop_leftover(record)
    if timed_out:
        record['status'] = 'timeout'
        record['error'] = 'stopped at its time box of %.0f s' % seconds
    elif record.get('status') in (None, 'running'):
        record['status'] = 'crashed'
        record['error'] = 'the stage process ended with exit status %s' % p.returncode
    if record['status'] not in ('passed',):
        with open(log_path, 'rb') as log:
            record['log_tail'] = log.read()[-2000:].decode('utf-8', 'replace')
    return record


def _read_record(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {'status': None, 'figures': {}, 'checks': [], 'notes': []}


def _stop_leftover(record):
    """Kill the command a stopped stage left running (its own process group)."""
    pgid = record.pop('running_pgid', None)
    if not pgid:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 0)):
        try:
            os.killpg(pgid, sig)
        except OSError:
            return
        t0 = now()
        while now() - t0 < wait:       # a train.py told to stop writes its model first
            try:
                os.killpg(pgid, 0)
            except OSError:
                return
            time.sleep(0.2)


def run_stage_inline(stage, opts, seconds):
    """Run one stage in this process (the tests' runner; no time box is enforced)."""
    ctx = StageContext(stage.name, opts.work, opts.gpu, opts.cpu_dry_run, seconds,
                       pythonpath=opts.pythonpath)
    try:
        STAGE_FUNCTIONS[stage.name](ctx)
        ctx.finish()
    except Exception as e:   # noqa: BLE001  (a stage's error is a result, not the end)
        ctx.finish(e)
    return ctx.record


#: how stages are run (tests replace it with run_stage_inline)
run_stage = run_stage_process


def run_stages(names, opts, report, started):
    """Run the stages named in ``names`` in table order within the budget; each record
    goes into ``report['stages']`` and the report is written after each one."""
    budget = opts.minutes * 60.0
    for stage in STAGES:
        if stage.name not in names:
            continue
        left = budget - (now() - started) - RESERVE_S
        box = left - GRACE_S if stage.box_s is None else min(stage.box_s, left)
        if left < stage.min_s:
            record = {'status': 'skipped', 'figures': {}, 'checks': [], 'notes': [
                'skipped: %.0f s of the budget left, the stage needs at least %d s'
                % (max(left, 0), stage.min_s)]}
        else:
            progress('%-16s running (time box %.0f s)' % (stage.name, box))
            t0 = now()
            record = run_stage(stage, opts, box)
            record['seconds'] = round(now() - t0, 1)
        record.update(name=stage.name, title=stage.title, time_box_s=round(max(box, 0), 1))
        report['stages'].append(record)
        progress('%-16s %s %s' % (stage.name, record['status'], record.get('error') or ''))
        finish_report(report, started)
        write_report(opts.out, report)
    return report


def progress(text):
    print('[gpu_check] ' + text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ the report

STATUSES = ('passed', 'failed', 'error', 'timeout', 'crashed', 'skipped')


def new_report(opts, gpu, shims):
    return {
        'check': 'benchmarks/gpu_check.py', 'schema': 1,
        'mode': 'cpu-dry-run' if opts.cpu_dry_run else 'gpu',
        'started': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
        'finished': None, 'gpu': gpu, 'host': {
            'python': platform.python_version(), 'platform': platform.platform(),
            'cpus': os.cpu_count(), 'hostname': platform.node()},
        'git': _git_state(), 'compat_shims': shims,
        'options': {'minutes': opts.minutes, 'stages': opts.stages, 'gpu': opts.gpu},
        'budget_s': opts.minutes * 60.0, 'elapsed_s': 0.0, 'stages': [],
        'counts': {}, 'passed': None}


def finish_report(report, started):
    report['elapsed_s'] = round(now() - started, 1)
    report['finished'] = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
    counts = {s: 0 for s in STATUSES}
    for r in report['stages']:
        counts[r['status']] = counts.get(r['status'], 0) + 1
    report['counts'] = counts
    report['passed'] = all(r['status'] in ('passed', 'skipped') for r in report['stages'])


def _git_state():
    """Commit and dirtiness of the checkout (None where it is a copy without .git)."""
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True,
                              text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=REPO, capture_output=True, text=True, timeout=10)
        return {'commit': head.stdout.strip(), 'dirty': bool(dirty.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return None


def write_report(path, report):
    """Write the report atomically (complete or absent)."""
    _write_json(path, report)


def default_out(gpu_name, today=None):
    """``docs/gpu/gpu_check-DATE-GPU.json`` (GPU name with anything but letters, digits,
    '.', '_' and '-' made '-')."""
    today = today or datetime.date.today().isoformat()
    name = re.sub(r'[^A-Za-z0-9._-]+', '-', gpu_name).strip('-') or 'gpu'
    return os.path.join(REPO, 'docs', 'gpu', 'gpu_check-%s-%s.json' % (today, name))


def format_table(report):
    """The summary table (Markdown) of a report."""
    gpu = report.get('gpu') or {}
    head = '%s, %s; %.0f s of %.0f s' % (
        gpu.get('name', 'CPU dry run'), report['mode'], report['elapsed_s'],
        report['budget_s'])
    lines = [head, '', '| stage | status | s | figures |', '|---|---|---|---|']
    for r in report['stages']:
        fig = r.get('figures', {}).get('summary') or r.get('error') or '; '.join(
            r.get('notes', [])) or ''
        failed = [c['check'] for c in r.get('checks', []) if not c['ok']]
        if failed:
            fig += (' -- ' if fig else '') + 'FAILED: ' + '; '.join(failed)
        secs = r.get('seconds')
        lines.append('| %s | %s | %s | %s |' % (
            r['name'], r['status'], '-' if secs is None else '%.0f' % secs,
            fig.replace('|', '/').replace('\n', ' ')))
    c = report['counts']
    lines.append('')
    lines.append(', '.join('%d %s' % (c[s], s) for s in STATUSES if c.get(s)))
    return '\n'.join(lines)


def copy_artifacts(work, folder):
    """Copy the pictures of :data:`ARTIFACTS` that exist into ``folder`` (flat)."""
    copied = []
    os.makedirs(folder, exist_ok=True)
    for pattern, name in ARTIFACTS:
        found = sorted(glob.glob(os.path.join(work, pattern)))
        if found:
            shutil.copyfile(found[-1], os.path.join(folder, name))
            copied.append(name)
    return copied


# ---------------------------------------------------------------------- command line

def build_parser():
    p = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split('\n\n')[0],
        epilog=__doc__.split('\n\n', 1)[1] + '\n\nOutput: ' + default_out(
            'GPUNAME', 'DATE').replace(REPO + os.sep, '') + ' unless --out; the logs and '
        'run folders of the stages go to --work (default: a temporary folder, removed).',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--minutes', type=_positive, default=8.0,
                   help='budget of the whole check in minutes; a stage that no longer fits '
                        'is skipped with a note, the grid experiment takes what is left '
                        '(default: 8)')
    p.add_argument('--out', default=None, metavar='FILE|DIR',
                   help='the JSON report (a folder: the default name inside it); written '
                        'atomically after every stage')
    p.add_argument('--stages', default=','.join(s.name for s in STAGES), type=_stage_list,
                   help='comma-separated stages to run, in table order (default: all)')
    p.add_argument('--gpu', type=int, default=0, help='CuPy device id (default: 0)')
    p.add_argument('--work', default=None, metavar='DIR',
                   help='keep the stages\' logs and run folders here (default: a temporary '
                        'folder, removed at the end)')
    p.add_argument('--artifacts', default=None, metavar='DIR',
                   help='copy the training curves and the last box picture of the runs '
                        'here (at most %d files)' % len(ARTIFACTS))
    p.add_argument('--cpu-dry-run', action='store_true',
                   help='no GPU: run every stage on the CPU with tiny sizes (tests the '
                        'script, not the GPU)')
    for hidden in ('--run-stage', '--result', '--seconds'):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    return p


def _positive(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('expected a number, got %r' % text)
    if not v > 0:
        raise argparse.ArgumentTypeError('expected a number > 0, got %s' % text)
    return v


def _stage_list(text):
    names = [n.strip() for n in text.split(',') if n.strip()]
    known = [s.name for s in STAGES]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise argparse.ArgumentTypeError('unknown stage(s) %s; stages: %s'
                                         % (', '.join(bad) or '(none)', ', '.join(known)))
    return names


def child_main(args):
    """A stage's own process: run it, write its record to ``--result``."""
    apply_compat()
    import chainer_see  # noqa: F401  (first: it silences CuPy's notes on missing libraries)
    ctx = StageContext(args.run_stage, args.work, args.gpu, args.cpu_dry_run,
                       float(args.seconds), result=args.result,
                       pythonpath=os.environ.get('PYTHONPATH'))

    def stop(signum, frame):
        raise SystemExit('stopped by signal %d' % signum)
    signal.signal(signal.SIGTERM, stop)
    try:
        STAGE_FUNCTIONS[args.run_stage](ctx)
        ctx.finish()
    except BaseException as e:   # noqa: BLE001  (recorded; SystemExit from SIGTERM too)
        if ctx.running:
            try:
                os.killpg(ctx.running, signal.SIGTERM)
            except OSError:
                pass
        ctx.finish(e)
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.run_stage:
        return child_main(args)
    started = now()
    shims = apply_compat()
    gpu = None
    if not args.cpu_dry_run:
        gpu, why = detect_gpu(args.gpu)
        if gpu is None:
            print('%s: no GPU to check: %s. It runs on a machine with a CUDA GPU '
                  '(docs/gpu/README.md); --cpu-dry-run tests the script on the CPU'
                  % (PROG, why), file=sys.stderr)
            return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import chainer_see.atomic  # noqa: F401  (chainer; the report's writer)
    except Exception as e:   # noqa: BLE001
        print('%s: chainer-see does not import: %s' % (PROG, _first_line(e)), file=sys.stderr)
        return 2
    return run_check(args, gpu, shims, started)


def run_check(args, gpu, shims, started):
    """Run the stages, write the JSON, print the table; the exit status."""
    out = args.out or (os.path.join(tempfile.gettempdir(), os.path.basename(default_out(
        'cpu-dry-run'))) if args.cpu_dry_run else default_out(gpu['name']))
    if os.path.isdir(out):
        out = os.path.join(out, os.path.basename(default_out(
            gpu['name'] if gpu else 'cpu-dry-run')))
    work = args.work or tempfile.mkdtemp(prefix='gpu_check-')
    os.makedirs(work, exist_ok=True)
    compat_dir = write_compat(os.path.join(work, 'compat')) if shims else None
    opts = argparse.Namespace(minutes=args.minutes, stages=args.stages, gpu=args.gpu,
                              cpu_dry_run=args.cpu_dry_run, work=work, out=out,
                              pythonpath=child_pythonpath(compat_dir))
    report = new_report(opts, gpu, shims)
    try:
        write_report(out, report)
    except OSError as e:
        print('%s: cannot write the report %s: %s' % (PROG, out, _first_line(e)),
              file=sys.stderr)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
        return 2
    try:
        run_stages(set(args.stages), opts, report, started)
        if args.artifacts:
            report['artifacts'] = copy_artifacts(work, args.artifacts)
        finish_report(report, started)
        write_report(out, report)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(report))
    print('\nwrote %s' % out)
    return 0 if report['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())

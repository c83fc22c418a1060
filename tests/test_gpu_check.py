"""benchmarks/gpu_check.py on the CPU: its options, the exit without a GPU, the JSON
report, failing and crashing stages, the time budget and the table.  The stages' own
code runs here in its dry-run form (the CPU as the 'device'); what needs a GPU cannot
be tested here."""
import json
import os
import subprocess
import sys

import numpy
import pytest

from benchmarks import gpu_check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'benchmarks', 'gpu_check.py')


class Clock(object):
    """A budget clock that the fake stages move."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def fake_stages(monkeypatch, functions, boxes=None):
    """Replace the stage table by ``functions`` (name -> function(ctx)), run in this
    process with a fake clock; returns the clock."""
    boxes = boxes or {}
    stages = tuple(gpu_check.Stage(n, 'title of ' + n, boxes.get(n, (30, 5))[0],
                                   boxes.get(n, (30, 5))[1]) for n in functions)
    monkeypatch.setattr(gpu_check, 'STAGES', stages)
    monkeypatch.setattr(gpu_check, 'STAGE_FUNCTIONS', dict(functions))
    monkeypatch.setattr(gpu_check, 'run_stage', gpu_check.run_stage_inline)
    clock = Clock()
    monkeypatch.setattr(gpu_check, 'now', clock)
    return clock


def run_main(args, tmp_path):
    out = str(tmp_path / 'report.json')
    rc = gpu_check.main(['--cpu-dry-run', '--out', out, '--work', str(tmp_path / 'work')]
                        + args)
    with open(out) as f:
        return rc, json.load(f)


# ----------------------------------------------------------------------- options

def test_help_names_every_stage_and_option(capsys):
    with pytest.raises(SystemExit) as e:
        gpu_check.main(['--help'])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for stage in gpu_check.STAGES:
        assert stage.name in text
    for option in ('--minutes', '--out', '--stages', '--cpu-dry-run', '--artifacts',
                   '--work', '--gpu', 'exits 2', 'docs/gpu/gpu_check-DATE-GPUNAME.json'):
        assert option in text
    assert '--run-stage' not in text          # the stage processes' own option is hidden


@pytest.mark.parametrize('args, message', [
    (['--minutes', '0'], 'expected a number > 0, got 0'),
    (['--minutes', 'soon'], "expected a number, got 'soon'"),
    (['--stages', 'sampler,warp'], 'unknown stage(s) warp'),
    (['--stages', ','], 'unknown stage(s) (none)'),
])
def test_bad_options_exit_2_with_the_reason(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        gpu_check.main(args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_stage_list_keeps_the_names_given():
    assert gpu_check._stage_list('step, sampler') == ['step', 'sampler']


def test_default_report_name_has_the_date_and_the_gpu():
    path = gpu_check.default_out('NVIDIA H200 (SXM) 141GB', today='2026-01-02')
    assert path == os.path.join(ROOT, 'docs', 'gpu',
                                'gpu_check-2026-01-02-NVIDIA-H200-SXM-141GB.json')


# ------------------------------------------------------------------ without a GPU

def test_no_gpu_exits_2_with_one_line_and_writes_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(gpu_check, 'detect_gpu', lambda index: (None, 'CUDA finds no device'))
    out = tmp_path / 'report.json'
    assert gpu_check.main(['--out', str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().split('\n')
    assert len(lines) == 1 and captured.out == ''
    assert lines[0].startswith('gpu_check.py: no GPU to check: CUDA finds no device.')
    assert '--cpu-dry-run' in lines[0]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_no_gpu_on_this_machine_exits_2_at_once(tmp_path):
    info, _ = gpu_check.detect_gpu(0)
    if info is not None:
        pytest.skip('this machine has a usable GPU (%s)' % info['name'])
    out = tmp_path / 'report.json'
    proc = subprocess.run([sys.executable, SCRIPT, '--out', str(out)], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ''
    lines = proc.stderr.strip().split('\n')
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('gpu_check.py: no GPU to check: ')
    assert not out.exists()


def test_an_unwritable_report_exits_2_before_any_stage(monkeypatch, tmp_path, capsys):
    ran = []
    fake_stages(monkeypatch, {'a': lambda ctx: ran.append(1)})
    (tmp_path / 'file').write_text('x')
    out = tmp_path / 'file' / 'report.json'          # under a file: cannot be made
    assert gpu_check.main(['--cpu-dry-run', '--out', str(out)]) == 2
    err = capsys.readouterr().err.strip().split('\n')
    assert len(err) == 1 and 'cannot write the report' in err[0]
    assert ran == []


# ------------------------------------------------------------ the report and stages

def test_report_is_written_after_every_stage_atomically(monkeypatch, tmp_path):
    seen = {}

    def first(ctx):
        ctx.figures['value'] = 1.5
        ctx.summary('first figure 1.5')

    def second(ctx):
        with open(str(tmp_path / 'report.json')) as f:
            seen['during'] = json.load(f)      # what a run cut short here would leave
        ctx.check('something', True)
    fake_stages(monkeypatch, {'first': first, 'second': second})
    rc, report = run_main([], tmp_path)
    assert rc == 0
    during = seen['during']
    assert [s['name'] for s in during['stages']] == ['first']
    assert during['stages'][0]['figures']['value'] == 1.5
    for key in ('check', 'schema', 'mode', 'started', 'finished', 'gpu', 'host', 'git',
                'compat_shims', 'options', 'budget_s', 'elapsed_s', 'stages', 'counts',
                'passed'):
        assert key in report, key
    assert report['mode'] == 'cpu-dry-run' and report['gpu'] is None
    assert report['passed'] is True and report['counts']['passed'] == 2
    for stage in report['stages']:
        for key in ('name', 'title', 'status', 'seconds', 'time_box_s', 'figures',
                    'checks', 'notes'):
            assert key in stage, key
    # no temporary file of the atomic writes is left beside the report
    assert sorted(os.listdir(str(tmp_path))) == ['report.json', 'work']


def test_a_failing_and_a_crashing_stage_are_recorded_and_the_rest_runs(monkeypatch,
                                                                       tmp_path):
    def fails(ctx):
        ctx.check('numbers agree', False, {'worst': 3.0})
        ctx.check('other numbers agree', True)

    def raises(ctx):
        ctx.figures['before'] = 7
        raise RuntimeError('kernel launch failed\nsecond line')

    def passes(ctx):
        ctx.summary('fine')
    fake_stages(monkeypatch, {'fails': fails, 'raises': raises, 'passes': passes})
    rc, report = run_main([], tmp_path)
    assert rc == 1 and report['passed'] is False
    by_name = {s['name']: s for s in report['stages']}
    assert [s['name'] for s in report['stages']] == ['fails', 'raises', 'passes']
    assert by_name['fails']['status'] == 'failed'
    assert by_name['fails']['checks'][0] == {'check': 'numbers agree', 'ok': False,
                                             'detail': {'worst': 3.0}}
    assert by_name['raises']['status'] == 'error'
    assert by_name['raises']['error'] == 'RuntimeError: kernel launch failed'
    assert by_name['raises']['figures']['before'] == 7
    assert 'RuntimeError' in by_name['raises']['traceback']
    assert by_name['passes']['status'] == 'passed'
    assert report['counts'] == {'passed': 1, 'failed': 1, 'error': 1, 'timeout': 0,
                                'crashed': 0, 'skipped': 0}


def test_the_budget_skips_stages_that_no_longer_fit(monkeypatch, tmp_path):
    boxes = {}

    def slow(ctx):
        boxes['slow'] = ctx.left()
        clock.t += 40                       # 40 of the 60 s budget

    def needs_15(ctx):
        raise AssertionError('must be skipped')

    def rest(ctx):
        boxes['rest'] = ctx.left()
    clock = fake_stages(monkeypatch, {'slow': slow, 'needs_15': needs_15, 'rest': rest},
                        boxes={'slow': (100, 5), 'needs_15': (30, 15), 'rest': (None, 1)})
    monkeypatch.setattr(gpu_check, 'GRACE_S', 5)
    rc, report = run_main(['--minutes', '1'], tmp_path)
    stages = {s['name']: s for s in report['stages']}
    # the first box is cut to the budget less the reserve for the report
    assert boxes['slow'] == pytest.approx(60 - gpu_check.RESERVE_S)
    assert stages['slow']['time_box_s'] == pytest.approx(50)
    assert stages['needs_15']['status'] == 'skipped'
    assert stages['needs_15']['notes'] == [
        'skipped: 10 s of the budget left, the stage needs at least 15 s']
    # the open-ended stage gets what is left, less the grace time of a stage process
    assert boxes['rest'] == pytest.approx(60 - 40 - gpu_check.RESERVE_S - 5)
    assert stages['rest']['status'] == 'passed'
    assert rc == 0 and report['counts']['skipped'] == 1


def test_the_table_shows_each_stage_with_its_figures(monkeypatch, tmp_path, capsys):
    def speed(ctx):
        ctx.figures['images_per_s'] = 1234.5
        ctx.summary('1234.5 img/s, peak 2048 MiB')

    def bad(ctx):
        ctx.summary('loss 3.0e-02 grad 1.0e+00')
        ctx.check('svhn gradient GPU = CPU', False, 1.0)
    fake_stages(monkeypatch, {'speed': speed, 'bad': bad})
    rc, _ = run_main([], tmp_path)
    out = capsys.readouterr().out
    assert rc == 1
    assert '| stage | status | s | figures |' in out
    assert '| speed | passed | 0 | 1234.5 img/s, peak 2048 MiB |' in out
    assert ('| bad | failed | 0 | loss 3.0e-02 grad 1.0e+00 -- FAILED: svhn gradient GPU = CPU |'
            in out)
    assert '1 passed, 1 failed' in out
    assert 'wrote %s' % (tmp_path / 'report.json') in out


def test_stages_option_runs_only_those_named(monkeypatch, tmp_path):
    ran = []
    fake_stages(monkeypatch, {n: (lambda ctx, n=n: ran.append(n)) for n in 'abc'})
    rc, report = run_main(['--stages', 'c,a'], tmp_path)
    assert ran == ['a', 'c']                      # in table order
    assert [s['name'] for s in report['stages']] == ['a', 'c']


def test_out_may_name_a_folder(monkeypatch, tmp_path):
    fake_stages(monkeypatch, {'a': lambda ctx: None})
    assert gpu_check.main(['--cpu-dry-run', '--out', str(tmp_path)]) == 0
    written = [n for n in os.listdir(str(tmp_path)) if n.endswith('.json')]
    assert len(written) == 1 and written[0].endswith('-cpu-dry-run.json')


# ------------------------------------------------------------ the stage processes

def _opts(tmp_path):
    import argparse
    return argparse.Namespace(work=str(tmp_path), gpu=0, cpu_dry_run=True,
                              pythonpath=gpu_check.child_pythonpath(None))


def test_a_stage_process_that_dies_is_recorded_as_crashed(monkeypatch, tmp_path):
    real = subprocess.Popen

    def dies(argv, **kw):
        return real([sys.executable, '-c', 'import os; os._exit(3)'], **kw)
    monkeypatch.setattr(gpu_check.subprocess, 'Popen', dies)
    record = gpu_check.run_stage_process(gpu_check.STAGES[0], _opts(tmp_path), 30)
    assert record['status'] == 'crashed'
    assert record['error'] == 'the stage process ended with exit status 3'


def test_a_stage_process_past_its_time_box_is_stopped(monkeypatch, tmp_path):
    real = subprocess.Popen
    result = tmp_path / 'stage-environment.json'

    def hangs(argv, **kw):
        code = ('import json, time; json.dump({"status": "running", "figures": {"x": 1}, '
                '"checks": [], "notes": []}, open(%r, "w")); time.sleep(60)' % str(result))
        return real([sys.executable, '-c', code], **kw)
    monkeypatch.setattr(gpu_check.subprocess, 'Popen', hangs)
    monkeypatch.setattr(gpu_check, 'GRACE_S', 0)
    record = gpu_check.run_stage_process(gpu_check.STAGES[0], _opts(tmp_path), 2)
    assert record['status'] == 'timeout'
    assert record['error'] == 'stopped at its time box of 2 s'
    assert record['figures'] == {'x': 1}          # what it had measured is kept


@pytest.mark.slow
def test_dry_run_of_the_real_stages_in_their_processes(tmp_path):
    out = tmp_path / 'dry.json'
    proc = subprocess.run([sys.executable, SCRIPT, '--cpu-dry-run', '--out', str(out),
                           '--stages', 'environment,sampler'],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert [s['status'] for s in report['stages']] == ['passed'] * 2
    sampler = report['stages'][1]['figures']
    assert sampler['edges/float64']['worst_over_tol'] == 0.0
    assert '| sampler | passed |' in proc.stdout


# --------------------------------------------------------- the stages' own checks

def _ctx(tmp_path, seconds=120):
    return gpu_check.StageContext('t', str(tmp_path), 0, True, seconds)


def test_sampler_stage_passes_on_the_same_path_and_fails_on_a_wrong_one(monkeypatch,
                                                                        tmp_path):
    ctx = _ctx(tmp_path)
    gpu_check.stage_sampler(ctx)
    ctx.finish()
    assert ctx.record['status'] == 'passed', ctx.record['checks']
    assert len(ctx.record['checks']) == 2 * 5

    from chainer_see.functions import _sampler_cpu
    real = _sampler_cpu.forward

    def off_by_a_bit(x, grid):             # a 'device' that is wrong by 1e-3
        y, state = real(x, grid)
        return y + numpy.asarray(1e-3, y.dtype), state
    ctx = _ctx(tmp_path)
    calls = {'n': 0}

    def second_call_wrong(x, grid):
        calls['n'] += 1                    # forward_backward: NumPy first, device second
        return (off_by_a_bit if calls['n'] % 2 == 0 else real)(x, grid)
    monkeypatch.setattr(_sampler_cpu, 'forward', second_call_wrong)
    gpu_check.stage_sampler(ctx)
    ctx.finish()
    assert ctx.record['status'] == 'failed'
    assert not any(c['ok'] for c in ctx.record['checks'])
    assert ctx.figures['worst_over_tol'] > 10


def test_step_stage_compares_loss_and_every_gradient(monkeypatch, tmp_path):
    ctx = _ctx(tmp_path)
    gpu_check.stage_step(ctx)
    ctx.finish()
    assert ctx.record['status'] == 'passed', ctx.record['checks']
    fig = ctx.figures['svhn']
    assert fig['loss_rel'] == 0 and fig['grad_rel'] == 0 and fig['params'] > 50

    real = gpu_check._step
    calls = []

    def device_gradient_off_by_1_percent(model, loss_fn, x, labels, seed):
        loss, parts, arrays, grads = real(model, loss_fn, x, labels, seed)
        calls.append(model)
        if len(calls) == 1:                 # the device's step runs first
            grads = {k: g * numpy.float32(1.01) for k, g in grads.items()}
        return loss, parts, arrays, grads
    monkeypatch.setattr(gpu_check, '_step', device_gradient_off_by_1_percent)
    ctx = _ctx(tmp_path)
    gpu_check.stage_step(ctx)
    ctx.finish()
    assert calls[0] is not calls[1]          # two models: the device's is a copy
    checks = {c['check']: c['ok'] for c in ctx.record['checks']}
    assert checks == {'svhn loss GPU = CPU': True, 'svhn gradient GPU = CPU': False,
                      "svhn each parameter's gradient": True}     # 1 % < the 1e-2 limit
    assert ctx.figures['svhn']['grad_rel'] == pytest.approx(0.01, rel=1e-3)
    assert ctx.record['status'] == 'failed'


def test_gradient_errors_use_a_floor_for_parameters_without_a_gradient():
    ref = {'w': numpy.ones(100, numpy.float32), 'b': numpy.zeros(3, numpy.float32)}
    got = {'w': ref['w'].copy(), 'b': numpy.full(3, 1e-6, numpy.float32)}
    err = gpu_check._grad_errors(got, ref)
    # |1e-6 * sqrt 3| / (0 + 1e-3 * 10): noise on a zero gradient is no failure
    assert err['worst_param_rel'] == pytest.approx(1.732e-4, rel=1e-3)
    assert err['worst_params'][0][0] == 'b'
    got['b'] = numpy.full(3, 1.0, numpy.float32)           # a real error is one
    assert gpu_check._grad_errors(got, ref)['worst_param_rel'] > gpu_check.STEP_TOL['param']
    del got['w']
    assert gpu_check._grad_errors(got, ref)['missing_grads'] == ['w']


def test_speed_stage_times_steps_and_stops_at_its_time_box(tmp_path):
    ctx = _ctx(tmp_path)
    gpu_check.stage_speed(ctx, 'svhn')
    ctx.finish()
    assert ctx.record['status'] == 'passed'
    assert ctx.figures['steps'] == 1 and ctx.figures['images_per_s'] > 0
    assert ctx.figures['pool_peak_mib'] is None           # no memory pool on the CPU
    ctx = _ctx(tmp_path, seconds=0)                         # box spent: no timed step
    gpu_check.stage_speed(ctx, 'svhn')
    ctx.finish()
    assert ctx.record['status'] == 'failed'
    assert ctx.figures['summary'] == 'too few steps in the time box'


def test_grid_stage_does_not_start_without_a_minute_of_training(tmp_path):
    ctx = _ctx(tmp_path, seconds=30)
    gpu_check.stage_grid(ctx)
    ctx.finish()
    assert ctx.record['status'] == 'passed' and 'commands' not in ctx.figures
    assert ctx.figures['summary'] == 'not run: too little time'


def test_compat_shims_let_chainer_import_without_the_names_it_misses(tmp_path):
    # in a fresh process that lacks numpy.sctypes, numpy.distutils and pkg_resources
    folder = gpu_check.write_compat(str(tmp_path / 'compat'))
    code = ('import sys, numpy\n'
            'sys.modules["pkg_resources"] = None\n'       # import pkg_resources fails
            'sys.modules["numpy.distutils"] = None\n'
            'if hasattr(numpy, "sctypes"): del numpy.sctypes\n'
            'exec(open(%r).read())\n'
            'print(sorted(APPLIED))\n'
            'import chainer, chainer.functions\n'
            'print(chainer.__version__)\n' % os.path.join(folder, 'sitecustomize.py'))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split('\n')[:2] == [
        "['numpy.distutils', 'numpy.sctypes', 'pkg_resources']", '7.8.1']

"""CPU checks of the CUDA kernels in cuda_kernels/ (there is no GPU on CI).

1. NVRTC compiles the exact source CuPy generates for every kernel, float32 and float64.
2. The same preamble and bodies, compiled as host C++, run through the GPU path's own glue
   (``_cuda_sampler.forward/backward``) and are compared with the NumPy path on random
   inputs with points far outside, on pixel centres, on the borders and on the clip ends.
3. Deliberately broken kernels (one index, one weight, one sign, ...) fail check 2, and a
   body that does not compile fails check 1: the checks can fail.
"""
import numpy
import pytest

from chainer_see.functions import _cuda_sampler
from chainer_see.functions import _sampler_cpu
from tests.functions import kernel_harness
from tests.functions.sampler_cases import make_case

DTYPES = (numpy.float32, numpy.float64)
TOL = {numpy.float32: 2e-5, numpy.float64: 1e-12}
CASES = [
    # (B, N, C, H, W, Ho, Wo); H - 1, W - 1 powers of two: special points exact
    (2, 3, 3, 9, 17, 6, 7),
    (1, 2, 2, 5, 3, 4, 1),
    (2, 1, 1, 7, 10, 3, 5),
]

needs_gxx = pytest.mark.skipif(kernel_harness.gxx() is None, reason='no C++ compiler (g++)')


def _nvrtc_or_skip():
    try:
        kernel_harness.load_nvrtc()
    except ImportError as e:
        pytest.skip('CuPy/NVRTC not importable: %s' % e)


# --------------------------------------------------------------------------- NVRTC

# 75: the oldest architecture NVRTC 12.9 does not call deprecated; 90: Hopper
@pytest.mark.parametrize('arch', ['75', '90'])
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('key', list(_cuda_sampler.KERNELS))
def test_nvrtc_compiles_the_source_cupy_generates(key, dtype, arch):
    _nvrtc_or_skip()
    source = kernel_harness.nvrtc_source(key, dtype)
    # CuPy's generated wrapper around our preamble and body
    assert 'typedef %s T;' % kernel_harness.CTYPES[numpy.dtype(dtype)] in source
    assert 'extern "C" __global__ void %s(' % _cuda_sampler.kernel_name(key) in source
    assert '#include <cupy/carray.cuh>' in source
    cubin = kernel_harness.nvrtc_compile(source, arch)
    assert cubin[:4] == b'\x7fELF'
    assert _cuda_sampler.kernel_name(key).encode() in cubin


def test_nvrtc_rejects_a_broken_body():
    _nvrtc_or_skip()
    from cupy.cuda.compiler import CompileException
    srcs = kernel_harness.sources()
    srcs['forward'] = srcs['forward'].replace('y[i] = acc;', 'y[i] = acc + undefined_name;')
    source = kernel_harness.nvrtc_source('forward', numpy.float32, srcs=srcs)
    with pytest.raises(CompileException, match='undefined_name'):
        kernel_harness.nvrtc_compile(source, '80')


def test_cupy_elementwise_kernels_are_declared_from_the_same_files():
    pytest.importorskip('cupy')
    _cuda_sampler._kernels.clear()
    try:
        for key, spec in _cuda_sampler.KERNELS.items():
            k = _cuda_sampler.get_kernel(key)
            assert k is _cuda_sampler.get_kernel(key)              # built once
            assert k.name == _cuda_sampler.kernel_name(key)
            assert k.operation == kernel_harness.sources()[key]
            assert k.preamble == kernel_harness.sources()['preamble']
    finally:
        _cuda_sampler._kernels.clear()


# --------------------------------------------------------------------------- host C++

@pytest.fixture(scope='module')
def host(tmp_path_factory):
    if kernel_harness.gxx() is None:
        pytest.skip('no C++ compiler (g++)')
    return kernel_harness.host_kernels(str(tmp_path_factory.mktemp('kernels')))


def compare_with_numpy(get_kernel, dtype, case, seed=0):
    """Max abs differences (y, gx, ggrid) between the GPU glue running ``get_kernel``'s
    kernels and the NumPy path, plus the largest magnitudes."""
    B, N, C, H, W, Ho, Wo = case
    x, grid = make_case(*case, dtype=dtype, seed=seed, special=0.6)
    gy = numpy.random.RandomState(seed + 1).uniform(-1, 1, (B, N, C, Ho, Wo)).astype(dtype)
    y = _cuda_sampler.forward(x, grid, get_kernel=get_kernel)
    gx, ggrid = _cuda_sampler.backward(x, grid, gy, True, True, get_kernel=get_kernel)
    y_ref, state = _sampler_cpu.forward(x, grid)
    gx_ref, ggrid_ref = _sampler_cpu.backward(state, gy, True, True)
    out = {}
    for name, a, b in (('y', y, y_ref), ('gx', gx, gx_ref), ('ggrid', ggrid, ggrid_ref)):
        assert a.shape == b.shape and a.dtype == b.dtype == dtype, name
        d = numpy.abs(a - b)
        # NaN: the kernel read outside an array (the harness surrounds them with NaN)
        out[name] = (float(d.max()) / max(1.0, float(numpy.abs(b).max()))
                     if numpy.isfinite(d).all() else numpy.inf)
    return out


@needs_gxx
@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('dtype', DTYPES)
def test_host_compiled_kernels_match_numpy(host, dtype, case):
    for seed in range(3):
        errs = compare_with_numpy(host, dtype, case, seed)
        assert max(errs.values()) < TOL[dtype], errs


@needs_gxx
def test_host_kernels_on_exact_pixel_centres_and_borders(host):
    # every grid value special: centres, +-1, clip ends, just inside/outside, far outside
    x, grid = make_case(2, 2, 2, 9, 17, 8, 8, numpy.float64, seed=11, special=1.0)
    gy = numpy.random.RandomState(12).uniform(-1, 1, (2, 2, 2, 8, 8))
    y = _cuda_sampler.forward(x, grid, get_kernel=host)
    gx, ggrid = _cuda_sampler.backward(x, grid, gy, True, True, get_kernel=host)
    y_ref, state = _sampler_cpu.forward(x, grid)
    gx_ref, ggrid_ref = _sampler_cpu.backward(state, gy, True, True)
    numpy.testing.assert_array_equal(y, y_ref)     # same arithmetic, same order
    numpy.testing.assert_allclose(gx, gx_ref, rtol=0, atol=1e-13)
    numpy.testing.assert_allclose(ggrid, ggrid_ref, rtol=0, atol=1e-12)


@needs_gxx
def test_gpu_glue_partial_gradients_and_non_contiguous_inputs(host):
    x, grid = make_case(2, 3, 2, 9, 17, 4, 5, numpy.float32, seed=5)
    gy = numpy.random.RandomState(6).uniform(-1, 1, (2, 3, 2, 4, 5)).astype(numpy.float32)
    xf, gf, gyf = numpy.asfortranarray(x), numpy.asfortranarray(grid), numpy.asfortranarray(gy)
    gx, ggrid = _cuda_sampler.backward(xf, gf, gyf, True, False, get_kernel=host)
    assert ggrid is None
    gx2, ggrid2 = _cuda_sampler.backward(xf, gf, gyf, False, True, get_kernel=host)
    assert gx2 is None
    _, state = _sampler_cpu.forward(x, grid)
    gx_ref, ggrid_ref = _sampler_cpu.backward(state, gy, True, True)
    numpy.testing.assert_allclose(gx, gx_ref, atol=2e-5)
    numpy.testing.assert_allclose(ggrid2, ggrid_ref, atol=2e-5)


# One deliberate bug each: (file, original text, mutated text).  The original must be in
# the source (so that a kernel edit cannot turn a mutation into a silent no-op).
MUTATIONS = {
    'weight: upper x neighbour gets the lower weight': (
        'preamble', '((k & 1) ? p.x.w_hi : p.x.w_lo)', '((k & 1) ? p.x.w_lo : p.x.w_lo)'),
    'index: bottom row one row too low': (
        'preamble', 'const int row = p.y.lo + (k >> 1);',
        'const int row = p.y.lo + 2 * (k >> 1);'),
    'index: plane stride uses W for H': (
        'forward', 'const ptrdiff_t plane = (b * C + c) * H * W;',
        'const ptrdiff_t plane = (b * C + c) * W * W;'),
    'coordinate: no +1 in the padded mapping': (
        'preamble', '* T(size - 1) / T(2) + T(1);', '* T(size - 1) / T(2);'),
    'clip: gradient also on the clip end': (
        'preamble', '(p > T(0) && p < T(size + 1))', '(p >= T(0) && p < T(size + 1))'),
    'border: neighbour just outside read as inside': (
        'preamble', '0 <= col && col < W', '0 <= col && col <= W'),
    'gx: scatter with the top-left weight only': (
        'backward_image', 'g * p.w[k]', 'g * p.w[0]'),
    'gx: every region scatters into the first image': (
        'backward_image', 'const ptrdiff_t b = bn / N;', 'const ptrdiff_t b = 0;'),
    'ggrid: sign of the vertical difference': (
        'backward_grid', '(val[2] - val[0])', '(val[0] - val[2])'),
    'ggrid: gy of the wrong channel': (
        'backward_grid', 'gy[(bn * C + c) * HWo + q]', 'gy[(bn * C) * HWo + q]'),
}


@needs_gxx
@pytest.mark.parametrize('mutation', sorted(MUTATIONS))
def test_host_check_catches_a_mutated_kernel(mutation, tmp_path):
    where, old, new = MUTATIONS[mutation]
    srcs = kernel_harness.sources()
    assert srcs[where].count(old) == 1, 'mutation no longer applies: %r' % old
    srcs[where] = srcs[where].replace(old, new)
    mutant = kernel_harness.host_kernels(str(tmp_path), srcs)
    try:
        worst = max(max(compare_with_numpy(mutant, numpy.float64, case).values())
                    for case in CASES[:2])
    except kernel_harness.OutOfBounds:
        return  # caught: the mutant wrote outside an array
    assert worst > 1e-6, 'the comparison with NumPy did not notice: %s' % mutation


@needs_gxx
def test_harness_reports_writes_outside_an_array(tmp_path):
    srcs = kernel_harness.sources()
    srcs['forward'] = srcs['forward'].replace('y[i] = acc;', 'y[i + 1] = acc;')
    mutant = kernel_harness.host_kernels(str(tmp_path), srcs)
    x, grid = make_case(*CASES[1], dtype=numpy.float64)
    with pytest.raises(kernel_harness.OutOfBounds, match='forward wrote outside y'):
        _cuda_sampler.forward(x, grid, get_kernel=mutant)

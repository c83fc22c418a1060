"""Run the CUDA kernel sources of ``cuda_kernels/`` without a GPU.

Two harnesses, both driven by ``chainer_see.functions._cuda_sampler.KERNELS`` (the single
description of each kernel's parameters and body file):

* :func:`nvrtc_source` / :func:`nvrtc_compile`: the exact source CuPy generates for an
  ``ElementwiseKernel`` call (CuPy's own code generator and headers), compiled by NVRTC to a
  cubin.  Needs CuPy and ``libnvrtc.so.12`` but no driver.
* :func:`host_kernels`: the same preamble and bodies compiled as host C++ by g++ (``__device__``
  defined empty, ``atomicAdd`` a plain add, the elementwise index ``i`` a for loop), loaded with
  ctypes, and wrapped in objects called like ``cupy.ElementwiseKernel`` (positional in/out
  arguments, ``size=``) that take NumPy arrays.  ``_cuda_sampler.forward/backward`` run
  unchanged on top of them.
"""
import ctypes
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy

import cuda_kernels
from chainer_see.functions import _cuda_sampler

CTYPES = {numpy.dtype(numpy.float32): 'float', numpy.dtype(numpy.float64): 'double'}
_SCALARS = {'int32': ('int', ctypes.c_int, numpy.int32)}


def sources():
    """{'preamble': text, key: body text} as read from cuda_kernels/."""
    out = {'preamble': cuda_kernels.read_source(_cuda_sampler.PREAMBLE)}
    for key, spec in _cuda_sampler.KERNELS.items():
        out[key] = cuda_kernels.read_source(spec.body)
    return out


def parse_params(text, is_output):
    """'raw T x, int32 N' -> [(name, kind, ctype)]; kind 'raw' or 'scalar'."""
    params = []
    for part in text.split(','):
        words = part.split()
        raw = words[0] == 'raw'
        if raw:
            words = words[1:]
        typ, name = words
        if raw:
            if typ != 'T':
                raise ValueError('harness supports raw T arrays only: %r' % part)
            params.append((name, 'raw', 'T*' if is_output else 'const T*'))
        else:
            if is_output or typ not in _SCALARS:
                raise ValueError('harness supports raw arrays and int32 scalars: %r' % part)
            params.append((name, 'scalar', _SCALARS[typ][0]))
    return params


def _all_params(spec):
    return parse_params(spec.in_params, False) + parse_params(spec.out_params, True)


# --------------------------------------------------------------------------- host C++

HOST_PRELUDE = r'''
#include <cmath>
#include <cstddef>
using std::floor;
#define __device__
template <typename U> inline U atomicAdd(U* address, U value) {
  const U old = *address;
  *address = old + value;
  return old;
}
'''


def host_source(dtype, srcs=None):
    """One C++ translation unit with every kernel for one dtype (``typedef <dtype> T`` first,
    then the preamble, as in CuPy's generated code)."""
    srcs = sources() if srcs is None else srcs
    parts = [HOST_PRELUDE, 'typedef %s T;\n' % CTYPES[numpy.dtype(dtype)], srcs['preamble']]
    for key, spec in _cuda_sampler.KERNELS.items():
        args = ', '.join('%s %s' % (ctype, name) for name, _, ctype in _all_params(spec))
        parts.append('extern "C" void %s(%s, ptrdiff_t n_threads) {\n'
                     '  for (ptrdiff_t i = 0; i < n_threads; ++i) {\n%s\n  }\n}\n'
                     % (_cuda_sampler.kernel_name(key), args, srcs[key]))
    return '\n'.join(parts)


def compile_host(source, workdir):
    """g++ -O2 -shared; returns the loaded library.  Raises CalledProcessError with the
    compiler's message on failure."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    cpp = os.path.join(workdir, 'k_%s.cpp' % digest)
    lib = os.path.join(workdir, 'k_%s.so' % digest)
    if not os.path.exists(lib):
        with open(cpp, 'w') as f:
            f.write(source)
        # -ffp-contract=off: no fused multiply-adds, so that the host arithmetic is the plain
        # IEEE sequence that NumPy performs
        cmd = [gxx(), '-O2', '-std=c++11', '-shared', '-fPIC', '-ffp-contract=off',
               '-Wall', '-o', lib + '.tmp', cpp]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        if proc.returncode:
            raise RuntimeError('g++ failed on the kernel sources:\n' + proc.stdout)
        os.replace(lib + '.tmp', lib)
    return ctypes.CDLL(lib)


def gxx():
    return shutil.which('g++') or shutil.which('c++')


class OutOfBounds(AssertionError):
    """A host-run kernel wrote outside one of its arrays."""


# Every array is passed to a host-run kernel inside a buffer with this many NaN guard elements
# on each side: a read out of bounds turns results into NaN, a write out of bounds is reported.
GUARD = 1 << 16


class HostKernel(object):
    """A host-compiled kernel called like ``cupy.ElementwiseKernel`` (all params raw/scalar)."""

    def __init__(self, lib, key, dtype):
        spec = _cuda_sampler.KERNELS[key]
        self.key = key
        self.params = _all_params(spec)
        self.dtype = numpy.dtype(dtype)
        self.func = getattr(lib, _cuda_sampler.kernel_name(key))
        self.func.restype = None

    def __call__(self, *args, size):
        if len(args) != len(self.params):
            raise TypeError('expected %d arguments, got %d' % (len(self.params), len(args)))
        c_args = []
        guarded = []
        for (name, kind, ctype), a in zip(self.params, args):
            if kind == 'raw':
                if not (isinstance(a, numpy.ndarray) and a.dtype == self.dtype
                        and a.flags.c_contiguous):
                    raise TypeError('%s must be a C-contiguous %s array' % (name, self.dtype))
                buf = numpy.full(a.size + 2 * GUARD, numpy.nan, dtype=self.dtype)
                buf[GUARD:GUARD + a.size] = a.reshape(-1)
                guarded.append((name, a, buf, not ctype.startswith('const')))
                c_args.append(ctypes.c_void_p(buf.ctypes.data + GUARD * self.dtype.itemsize))
            else:
                if not isinstance(a, (numpy.int32, int)):
                    raise TypeError('%s must be an int32 scalar, got %r' % (name, type(a)))
                c_args.append(ctypes.c_int(int(a)))
        self.func(*c_args, ctypes.c_ssize_t(size))
        for name, a, buf, is_output in guarded:
            if not (numpy.isnan(buf[:GUARD]).all() and numpy.isnan(buf[-GUARD:]).all()):
                raise OutOfBounds('kernel %s wrote outside %s' % (self.key, name))
            if is_output:
                a[...] = buf[GUARD:GUARD + a.size].reshape(a.shape)
        return args[-1]


class HostKernels(object):
    """``get_kernel`` replacement for ``_cuda_sampler``: dtype dispatch like CuPy's."""

    def __init__(self, workdir, srcs=None):
        self.libs = {}
        for dtype in CTYPES:
            self.libs[dtype] = compile_host(host_source(dtype, srcs), workdir)

    def __call__(self, key):
        def call(*args, size):
            dtype = next(a.dtype for a in args if isinstance(a, numpy.ndarray))
            return HostKernel(self.libs[dtype], key, dtype)(*args, size=size)
        return call


def host_kernels(workdir=None, srcs=None):
    workdir = workdir or tempfile.mkdtemp(prefix='chainer_see_kernels_')
    return HostKernels(workdir, srcs)


# --------------------------------------------------------------------------- NVRTC

def nvrtc_library():
    """Path of libnvrtc.so.12 from the nvidia-cuda-nvrtc-cu12 wheel (None if absent)."""
    try:
        import nvidia.cuda_nvrtc
    except ImportError:
        return None
    for d in nvidia.cuda_nvrtc.__path__:
        found = sorted(glob.glob(os.path.join(d, 'lib', 'libnvrtc.so.12*')))
        if found:
            return found[0]
    return None


def load_nvrtc():
    """Load libnvrtc globally (before CuPy looks for it) and return CuPy's compiler module.
    Raises ImportError with the reason when CuPy or NVRTC are missing."""
    path = nvrtc_library()
    if path is None:
        raise ImportError('nvidia-cuda-nvrtc-cu12 (libnvrtc.so.12) is not installed')
    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    import cupy  # noqa: F401
    from cupy.cuda import compiler
    return compiler


def nvrtc_source(key, dtype, srcs=None, shapes=None):
    """The exact source CuPy compiles for ``KERNELS[key]`` called with C-contiguous arrays of
    ``dtype`` (ndims as in ``_cuda_sampler``), 32-bit indexing, and ``size=``."""
    from cupy._core import _carray
    from cupy._core import _kernel
    from cupy._core import core
    import cupy
    srcs = sources() if srcs is None else srcs
    spec = _cuda_sampler.KERNELS[key]
    dtype = numpy.dtype(dtype)
    ndims = {'x': 4, 'gx': 4, 'grid': 5, 'ggrid': 5, 'y': 5, 'gy': 5}
    params = (tuple(_kernel._get_param_info(spec.in_params, True))
              + tuple(_kernel._get_param_info(spec.out_params, False))
              + (_kernel.ParameterInfo('CIndexer _ind', False),))
    ARRAY, INDEXER, SCALAR = 1, 2, 3  # CuPy's _ArgInfo kinds
    arginfos = []
    for p in params[:-1]:
        if p.raw:
            arginfos.append(_kernel._ArgInfo(ARRAY, cupy.ndarray, dtype, ndims[p.name],
                                             True, True))
        else:
            arginfos.append(_kernel._ArgInfo(SCALAR, numpy.int32, numpy.dtype(numpy.int32),
                                             0, True, True))
    # all arguments raw + size=: CuPy indexes a 1-d range
    arginfos.append(_kernel._ArgInfo(INDEXER, _carray.Indexer, None, 1, True, True))
    type_map = _kernel._TypeMap((('T', dtype),))
    code = _kernel._get_elementwise_kernel_code(
        tuple(arginfos), type_map, params, srcs[key], _cuda_sampler.kernel_name(key),
        srcs['preamble'])
    # what cupy._core.core.compile_with_cache prepends
    header = ''.join('#include <%s>\n' % h for h in core._cupy_header_list)
    return header + code


def nvrtc_options():
    """CuPy's compiler options for NVRTC, plus CuPy's bundled cuda_fp16.h as a fallback for
    machines without a CUDA toolkit (after CuPy's own include paths, so a toolkit wins)."""
    from cupy._core import core
    include = core._get_header_dir_path()
    return core.assemble_cupy_compiler_options(
        ('-I' + include, '-I' + os.path.join(include, 'cupy', '_cuda', 'cuda-12')))


def nvrtc_compile(source, arch):
    """Compile to a cubin for sm_<arch> as CuPy does (``compile_using_nvrtc`` itself asks the
    driver for the device, so call NVRTC through CuPy's program wrapper directly)."""
    compiler = load_nvrtc()
    options = nvrtc_options() + ('-arch=sm_%s' % arch, '--device-as-default-execution-space')
    cubin, _ = compiler._NVRTCProgram(source, 'kern.cu', method='cubin').compile(options)
    return cubin

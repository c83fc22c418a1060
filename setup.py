"""Install chainer-see: the SEE text spotter (Bartz et al., AAAI 2018) in Chainer + CuPy.

Chainer 7.8.1 is an sdist whose setup imports ``pkg_resources``; build it with
``PIP_CONSTRAINT=constraints.txt`` (setuptools < 70, numpy < 2), as the README shows.
"""
import sys

#: Chainer 7.8.1 imports ``numpy.distutils``, gone on Python 3.12; numpy < 2 (which
#: Chainer needs) has no wheels before 3.9.
PYTHON_REQUIRES = '>=3.9,<3.12'
if not (3, 9) <= sys.version_info[:2] < (3, 12):
    sys.exit('chainer-see needs Python 3.9, 3.10 or 3.11 (Chainer 7.8.1 does not import on '
             '3.12 and newer); this is Python %d.%d: use python3.11 -m venv'
             % sys.version_info[:2])

from setuptools import setup  # noqa: E402  (after the version check, which needs no setuptools)

GPU = ['cupy-cuda12x<14']
MN = ['mpi4py', 'openmpi']
# C-accelerated CRC32-C for the FSNS converter (a NumPy fallback works without it)
FSNS = ['google-crc32c']
# ONNX export (export.py) and predict.py --backend onnxruntime; never needed to train
EXPORT = ['onnx', 'onnxruntime']
# The CPU test-suite compiles the CUDA kernels with NVRTC and CuPy's headers, so it
# needs CuPy and the NVRTC wheel, but no GPU and no driver.
TEST = ['pytest', 'nvidia-cuda-nvrtc-cu12'] + GPU + MN + EXPORT

setup(
    name='chainer-see',
    version='0.1.0',
    description='SEE: semi-supervised end-to-end scene text recognition in Chainer + CuPy',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires=PYTHON_REQUIRES,
    packages=[
        'chainer_see',
        'chainer_see.functions',
        'chainer_see.links',
        'chainer_see.training',
        'chainer_see.training.extensions',
        'chainer_see.data',
        'chainer_see.evaluation',
        'chainer_see.export',
        'chainer_see.char_maps',
        'cuda_kernels',
    ],
    # The char maps live in datasets/char_maps (the project's data folder); they are
    # installed inside the package so that an installed chainer_see finds them.
    package_dir={'chainer_see.char_maps': 'datasets/char_maps'},
    package_data={'chainer_see.char_maps': ['*.json'], 'cuda_kernels': ['*.cu', '*.cuh']},
    install_requires=[
        'chainer==7.8.1',
        'numpy>=1.21,<2',
        'pillow',
        'matplotlib',
        'h5py',
        'protobuf',
        'tqdm',
    ],
    extras_require={'gpu': GPU, 'mn': MN, 'fsns': FSNS, 'export': EXPORT, 'test': TEST},
)

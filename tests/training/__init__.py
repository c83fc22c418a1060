import chainer_see  # noqa: F401  (silences CuPy notes before chainer is imported)

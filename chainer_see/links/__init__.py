"""Chainer links of the SEE model (blocks, localization and recognition networks, SEE)."""

"""Affine sampling grids for N regions per image (paper Eq. 5).

PLACEHOLDER (reference implementation on top of Chainer's own function); step 1 replaces it.
"""
import chainer.functions as F


def affine_grid(theta, shape):
    """theta (B, N, 2, 3) -> grid (B, N, 2, Ho, Wo); channel 0 = x, 1 = y, in [-1, 1]."""
    B, N = theta.shape[:2]
    g = F.spatial_transformer_grid(F.reshape(theta, (B * N, 2, 3)), shape)
    return F.reshape(g, (B, N, 2) + tuple(shape))

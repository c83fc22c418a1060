"""Bilinear sampling of N grids from one image.

PLACEHOLDER (reference approach: the image repeated N times); step 1 replaces it.
"""
import chainer.functions as F


def multi_grid_sampler(x, grid):
    """x (B, C, H, W), grid (B, N, 2, Ho, Wo) -> (B, N, C, Ho, Wo)."""
    B, C, H, W = x.shape
    N = grid.shape[1]
    xs = F.broadcast_to(F.expand_dims(x, 1), (B, N, C, H, W))
    y = F.spatial_transformer_sampler(F.reshape(xs, (B * N, C, H, W)),
                                      F.reshape(grid, (B * N,) + grid.shape[2:]))
    return F.reshape(y, (B, N, C) + grid.shape[3:])

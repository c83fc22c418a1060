"""Rotation dropout on predicted affine matrices.  PLACEHOLDER; step 2 implements it."""


def rotation_dropout(theta, ratio=0.5, mode='code'):
    raise NotImplementedError('rotation_dropout is implemented in step 2')

"""Differentiable building blocks of the spatial transformer (FunctionNodes and helpers)."""
from chainer_see.functions.affine_grid import affine_grid  # noqa: F401
from chainer_see.functions.grid_to_boxes import grid_to_boxes, GridBoxes  # noqa: F401
from chainer_see.functions.multi_grid_sampler import multi_grid_sampler  # noqa: F401
from chainer_see.functions.rotation_dropout import rotation_dropout  # noqa: F401

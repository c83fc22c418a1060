"""VisualBackprop (Bojarski et al. 2016): which pixels the localization network looks at.

Definition (the spec, paper Fig. 3): average the feature maps of every conv layer over
the channels; then, from the deepest layer up, upsample the running mask to the next
shallower layer's size with a deconvolution of ones whose kernel, stride and padding
match the operations between the two layers, and multiply it by that layer's averaged
map; finally normalize every image's mask to ``[0, 1]``.

The localization network's activations (``LocalizationNet.forward(x,
return_features=True)``, in forward order) are ``conv0`` (input resolution, 3x3 conv)
and, per residual block, ``rsK/conv0`` and ``rsK`` (3x3 convs), with a 2x2 stride-2
pooling before ``rs1/conv0``, ``rs3/conv0`` and (``pooling='code'``) ``rs2/conv0``.  The
operations between two maps are read from their sizes: the same size -> a 3x3
stride-1 conv (deconvolution 3x3, pad 1); a smaller size -> a 2x2 stride-2 pooling
followed by a 3x3 conv.  A last 3x3 deconvolution brings ``conv0``'s map to the input.

Command line::

    python -m chainer_see.evaluation.visual_backprop model.npz IMAGE [IMAGE ...] --out heat.png

writes, per image, the image, its heat map and the overlay with the predicted boxes
(``--out`` names a file for one image or a folder for several).
"""
import argparse
import os
import sys

import numpy
from PIL import Image, ImageDraw

import chainer
import chainer.functions as F
from chainer import backend

from chainer_see.evaluation.draw import PLOT_BACKGROUND, PLOT_GAP, PLOT_PALETTE
from chainer_see.evaluation.draw import display_scale, draw_quads, to_uint8

CONV = (3, 1, 1)      # ksize, stride, pad
POOL = (2, 2, 0)


def _deconv_ones(mask, ksize, stride, pad):
    """``mask (B, 1, h, w)`` -> deconvolution with a ``ksize`` kernel of ones."""
    xp = backend.get_array_module(mask)
    W = xp.ones((1, 1, ksize, ksize), dtype=mask.dtype)
    return F.deconvolution_2d(mask, W, stride=stride, pad=pad).array


def _fit(mask, hw):
    """Crop or zero-pad ``mask (B, 1, h, w)`` at the bottom/right to ``hw``."""
    xp = backend.get_array_module(mask)
    H, W = hw
    out = xp.zeros(mask.shape[:2] + (H, W), dtype=mask.dtype)
    h, w = min(H, mask.shape[2]), min(W, mask.shape[3])
    out[:, :, :h, :w] = mask[:, :, :h, :w]
    return out


def transition_ops(shallow_hw, deep_hw):
    """The (ksize, stride, pad) operations that lead from a map of size ``shallow_hw`` to
    the next deeper one of size ``deep_hw`` (forward order), inferred from the sizes."""
    if tuple(shallow_hw) == tuple(deep_hw):
        return [CONV]
    if all(d in (s // 2, -(-s // 2)) for s, d in zip(shallow_hw, deep_hw)):
        return [POOL, CONV]
    raise ValueError('VisualBackprop: cannot tell the layers between maps of %s and %s'
                     % (tuple(shallow_hw), tuple(deep_hw)))


def visual_backprop(features, input_size=None, normalize=True):
    """Masks ``(B, H, W)`` in ``[0, 1]`` from conv activations.

    Args:
        features: activations in forward order (an ``OrderedDict`` or a list) of
            Variables/arrays ``(B, C, h, w)``; the first is the shallowest.
        input_size: ``(H, W)`` of the input; ``None`` = the first map's size.  The
            first map comes from a 3x3 stride-1 conv of the input when the sizes match.
        normalize (bool): scale every image's mask to ``[0, 1]`` (min -> 0, max -> 1;
            a constant mask becomes 0).
    Returns:
        float32 array ``(B, H, W)`` on the features' device.
    """
    maps = list(features.values()) if hasattr(features, 'values') else list(features)
    if not maps:
        raise ValueError('VisualBackprop needs at least one feature map')
    maps = [m.array if isinstance(m, chainer.Variable) else m for m in maps]
    avg = [m.mean(axis=1, keepdims=True).astype(numpy.float32) for m in maps]
    with chainer.no_backprop_mode():
        mask = avg[-1]
        for i in range(len(avg) - 2, -1, -1):
            shallow = avg[i]
            for ops in reversed(transition_ops(shallow.shape[2:], mask.shape[2:])):
                mask = _deconv_ones(mask, *ops)
            mask = _fit(mask, shallow.shape[2:]) * shallow
        if input_size is not None:
            if tuple(input_size) == tuple(mask.shape[2:]):
                mask = _deconv_ones(mask, *CONV)
            else:
                for ops in reversed(transition_ops(input_size, mask.shape[2:])):
                    mask = _deconv_ones(mask, *ops)
                mask = _fit(mask, input_size)
    mask = mask[:, 0]
    if normalize:
        xp = backend.get_array_module(mask)
        lo = mask.min(axis=(1, 2), keepdims=True)
        hi = mask.max(axis=(1, 2), keepdims=True)
        span = hi - lo
        mask = xp.where(span > 0, (mask - lo) / xp.where(span > 0, span, 1), 0)
    return mask.astype(numpy.float32)


def localization_heatmaps(model, x):
    """VisualBackprop masks of SEE's localization network for images ``x (B, 3, H, W)``.

    Returns ``(output, masks)``: the model's ``SEEOutput`` (test mode) and float32
    masks ``(B, H, W)`` in ``[0, 1]`` over the whole image (the V views of a
    multi-view image side by side).
    """
    out, feats = model.infer(x, return_features=True)
    B = x.shape[0]
    V = model.config.views
    Hv, Wv = model.config.view_size
    masks = visual_backprop(feats, (Hv, Wv))                     # (B*V, Hv, Wv)
    if V > 1:   # (B*V, Hv, Wv), index b*V + v -> (B, Hv, V*Wv)
        masks = masks.reshape(B, V, Hv, Wv).transpose(0, 2, 1, 3).reshape(B, Hv, V * Wv)
    return out, masks


def heat_colors(mask):
    """``(H, W)`` in [0, 1] -> uint8 RGB ``(H, W, 3)`` (black-red-yellow-white)."""
    m = numpy.clip(numpy.asarray(mask, dtype=numpy.float32), 0, 1)
    rgb = numpy.stack([numpy.clip(3 * m, 0, 1), numpy.clip(3 * m - 1, 0, 1),
                       numpy.clip(3 * m - 2, 0, 1)], axis=-1)
    return (rgb * 255).round().astype(numpy.uint8)


def overlay(image, mask, alpha=0.6):
    """Image ``(3, H, W)`` float in [0, 1] with the heat map blended over it -> uint8 RGB."""
    img = numpy.asarray(image, dtype=numpy.float32).transpose(1, 2, 0)
    heat = heat_colors(mask).astype(numpy.float32) / 255
    a = alpha * numpy.clip(numpy.asarray(mask, dtype=numpy.float32), 0, 1)[..., None]
    return ((img * (1 - a) + heat * a) * 255).round().clip(0, 255).astype(numpy.uint8)


def draw_heatmap_panel(image, mask, boxes=None, views=1):
    """Image | heat map | overlay with ``boxes (R, 4)`` -- the command line's picture."""
    H, W = image.shape[1:]
    s = display_scale((H, W))
    panels = [to_uint8(image), Image.fromarray(heat_colors(mask)),
              Image.fromarray(overlay(image, mask))]
    panels = [p.resize((W * s, H * s), Image.NEAREST) for p in panels]
    if boxes is not None:
        draw = ImageDraw.Draw(panels[0])
        boxes = numpy.asarray(boxes)
        quads = numpy.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]],
                             boxes[:, [0, 3]]], axis=1)
        colors = [PLOT_PALETTE[(r // views) % len(PLOT_PALETTE)] for r in range(len(boxes))]
        draw_quads(draw, quads, colors, s, 2)
    out = Image.new('RGB', (3 * W * s + 2 * PLOT_GAP, H * s), PLOT_BACKGROUND)
    for i, p in enumerate(panels):
        out.paste(p, (i * (W * s + PLOT_GAP), 0))
    return out


def main(argv=None):
    from chainer_see import load_model
    from chainer_see.data.errors import EXIT_BAD_INPUT, DataError
    from chainer_see.data.image import load_image
    p = argparse.ArgumentParser(
        prog='python -m chainer_see.evaluation.visual_backprop',
        description='VisualBackprop heat maps of the localization network of a SEE model: '
                    'per image one PNG with the image and predicted boxes, the heat map, '
                    'and both blended.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('model', help='model file (model.npz of train.py)')
    p.add_argument('images', nargs='+', help='image files (resized to the model input)')
    p.add_argument('--out', default='heat.png',
                   help='output PNG for one image, or a folder for several')
    p.add_argument('--preset', default=None,
                   help="model preset for files without a stored configuration ('svhn')")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model, preset=args.preset)
        images = numpy.stack([load_image(path, model.config.image_size)
                              for path in args.images])
    except (OSError, ValueError, DataError) as e:
        sys.stderr.write('error: %s\n' % e)
        return EXIT_BAD_INPUT
    out, masks = localization_heatmaps(model, images)
    if len(args.images) > 1 or os.path.isdir(args.out):
        os.makedirs(args.out, exist_ok=True)
        targets = [os.path.join(args.out, os.path.splitext(os.path.basename(path))[0]
                                + '_heat.png') for path in args.images]
    else:
        targets = [args.out]
    for i, target in enumerate(targets):
        panel = draw_heatmap_panel(images[i], masks[i], out.boxes[i],
                                   views=model.config.views)
        folder = os.path.dirname(os.path.abspath(target))
        os.makedirs(folder, exist_ok=True)
        panel.save(target)
        print(target)
    return 0


if __name__ == '__main__':
    sys.exit(main())

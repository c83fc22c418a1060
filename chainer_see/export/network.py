"""The SEE model as ONNX: localization, grid, sampler, boxes, views and recognition,
composed from the layers of :mod:`chainer_see.export.layers`.

Shapes in the docstrings: ``BV`` is the batch times the views (the localization
network's batch), ``M`` the batch times the regions (the recognition network's).  Test
mode throughout: rotation dropout at its test-time value, batch normalization with the
stored statistics.
"""
import numpy

import chainer
import chainer.links as L

from chainer_see.config import shrink_factor
from chainer_see.export.layers import ExportError
from chainer_see.export.layers import average_pool
from chainer_see.export.layers import batch_norm
from chainer_see.export.layers import building_block
from chainer_see.export.layers import conv_bn
from chainer_see.export.layers import global_average_pool
from chainer_see.export.layers import linear
from chainer_see.export.layers import lstm
from chainer_see.export.layers import max_pool
from chainer_see.export.layers import repeat
from chainer_see.export.layers import residual_block
from chainer_see.functions.affine_grid import _base_grid
from chainer_see.functions.rotation_dropout import rotation_dropout
from chainer_see.links.localization import slot_anchors

def localization(g, net, x, path='localization_net'):
    """``LocalizationNet``: views ``x (BV, 3, Hv, Wv)`` -> ``theta (BV, N, 2, 3)``."""
    N = net.num_regions
    x = shrink(g, x, net.input_size, net.read_size, path + '/shrink')
    h = conv_bn(g, net.conv0, net.bn0, x, path + '/conv0', path + '/bn0', relu=True)
    h = average_pool(g, h, path + '/pool0', 2, 2)
    h = residual_block(g, net.rs1, h, path + '/rs1')
    if net.pooling == 'code':
        h = max_pool(g, h, path + '/pool1', 2, 2)
    h = residual_block(g, net.rs2, h, path + '/rs2')
    h = max_pool(g, h, path + '/pool2', 2, 2)
    h = residual_block(g, net.rs3, h, path + '/rs3')
    h = average_pool(g, h, path + '/pool3', 5, 2)
    h = g.op('Flatten', [h], path + '/flatten', axis=1)
    hs = lstm(g, net.lstm, repeat(g, h, N, path + '/repeat'), path + '/lstm')
    hs = g.op('Relu', [hs], path + '/lstm/relu')                    # (N, BV, units)
    name, head = transform_head(net, path)
    if isinstance(head, L.LSTM):        # state carried over the N regions
        t = lstm(g, head, hs, path + '/' + name)
    else:
        t = linear(g, head, hs, path + '/' + name)
    if net.slot_layout == 'grid':
        anchors = slot_anchors(N, net.zoom, numpy.float32)[:, None, :]
        t = g.op('Add', [t, g.const(path + '/slot_anchors', anchors)], path + '/slots')
    factors = rotation_dropout_factors(net.dropout_ratio, net.dropout_mode)
    if not (factors == 1).all():
        t = g.op('Mul', [t, g.const(path + '/rotation_dropout', factors)],
                 path + '/rotation_dropout')
    t = g.transpose(t, (1, 0, 2), path + '/theta_bn')
    return g.reshape(t, [0, N, 2, 3], path + '/theta')


def shrink(g, x, size, read_size, path):
    """``localization.shrink``: the view ``(BV, 3, H, W)`` at the localization's read
    size, an ``AveragePool`` of ``k x k`` blocks."""
    if tuple(size) == tuple(read_size):
        return x
    k = shrink_factor(size, read_size)
    return average_pool(g, x, path, k, k)


def transform_head(net, path):
    """``(name, link)`` of the localization's transform head: a ``Linear`` or an
    ``LSTM`` with 6 outputs, whichever ``config.transform_head`` built."""
    link = getattr(net, 'transform_2', None)
    if isinstance(link, (L.LSTM, L.Linear)):
        return 'transform_2', link
    raise ExportError('%s: no exporter for transform_head %r (neither a Linear nor an LSTM)'
                      % (path, net.transform_head))


def rotation_dropout_factors(ratio, mode):
    """The test-mode factors ``(6,)`` of the flat matrix, read off the model's own
    ``rotation_dropout`` (so that the export follows its semantics)."""
    with chainer.using_config('train', False):
        y = rotation_dropout(numpy.ones((1, 2, 3), numpy.float32), ratio, mode)
    return numpy.asarray(y.array, numpy.float32).reshape(6)


def affine_grid(g, theta, crop_size, path='affine_grid'):
    """``theta (BV, N, 2, 3)`` -> grid ``(BV, N, 2, Ho * Wo)`` (x row, y row), the
    product with ``chainer_see.functions.affine_grid``'s own base grid."""
    Ho, Wo = crop_size
    base = numpy.array(_base_grid(Ho, Wo, numpy.dtype(numpy.float32).str, '@numpy'))
    return g.op('MatMul', [theta, g.const(path + '/base', base)], path)


def sample(g, image, grid, num_regions, channels, crop_size, path='sampler'):
    """``multi_grid_sampler``: image ``(BV, C, Hv, Wv)`` and grid ``(BV, N, 2, Ho*Wo)``
    -> crops ``(BV, N, C, Ho, Wo)``.

    One ``GridSample`` per image with the N grids stacked along the output height
    ``(BV, N*Ho, Wo, 2)``: the image is not repeated N times.  Bilinear, zeros padding,
    ``align_corners=1``: the sampler's convention (grid -1 is pixel 0, +1 pixel W-1, the
    image surrounded by zeros); tests/test_export.py checks points inside, on the edge
    and far outside.
    """
    N, C, (Ho, Wo) = num_regions, channels, crop_size
    pts = g.transpose(grid, (0, 1, 3, 2), path + '/points')
    pts = g.reshape(pts, [0, N * Ho, Wo, 2], path + '/stacked')
    y = g.op('GridSample', [image, pts], path, mode='bilinear', padding_mode='zeros',
             align_corners=1)                                        # (BV, C, N*Ho, Wo)
    y = g.reshape(y, [0, C, N, Ho, Wo], path + '/split')
    return g.transpose(y, (0, 2, 1, 3, 4), path + '/crops')


def grid_boxes(g, grid, view_size, crop_size, path='boxes'):
    """``grid_to_boxes``: grid ``(BV, N, 2, Ho*Wo)`` -> boxes ``(BV, N, 4)`` in pixels of
    the view, ``(x_min, y_min, x_max, y_max)`` of the four corner points."""
    (Hv, Wv), (Ho, Wo) = view_size, crop_size
    pick = g.ints(path + '/corners', [0, Wo - 1, Ho * Wo - 1, (Ho - 1) * Wo])
    c = g.op('Gather', [grid, pick], path + '/gather', axis=3)     # (BV, N, 2, 4)
    c = g.op('Add', [c, g.const(path + '/one', numpy.float32(1))], path + '/shift')
    scale = numpy.array([[(Wv - 1) / 2.0], [(Hv - 1) / 2.0]], numpy.float32)
    c = g.op('Mul', [c, g.const(path + '/scale', scale)], path + '/pixels')
    lo = g.op('ReduceMin', [c], path + '/min', axes=[3], keepdims=0)
    hi = g.op('ReduceMax', [c], path + '/max', axes=[3], keepdims=0)
    return g.op('Concat', [lo, hi], path, axis=2)


def split_views(g, x, views, channels, height, view_width, path='views'):
    """``(B, C, H, V*Wv)`` -> ``(B*V, C, H, Wv)``, index ``b*V + v``."""
    x = g.reshape(x, [0, channels, height, views, view_width], path + '/split')
    x = g.transpose(x, (0, 3, 1, 2, 4), path + '/transpose')
    return g.reshape(x, [-1, channels, height, view_width], path)


def fold_views(g, x, views, num_regions, rest, path):
    """``(B*V, N, *rest)`` -> ``(B, N*V, *rest)``, region-major (index ``n*V + v``)."""
    rest = list(rest)
    x = g.reshape(x, [-1, views, num_regions] + rest, path + '/split')
    x = g.transpose(x, [0, 2, 1] + list(range(3, 3 + len(rest))), path + '/transpose')
    return g.reshape(x, [-1, num_regions * views] + rest, path)


def small_resnet(g, net, x, path):
    """``'small-resnet'`` backbone: crops ``(M*V, 3, Ho, Wo)`` -> ``(M*V, 128, h, w)``."""
    h = conv_bn(g, net.conv0, net.bn0, x, path + '/conv0', path + '/bn0', relu=True)
    h = average_pool(g, h, path + '/pool0', 2, 2)
    h = residual_block(g, net.rs1, h, path + '/rs1')
    h = residual_block(g, net.rs2, h, path + '/rs2')
    h = max_pool(g, h, path + '/pool1', 2, 2)
    h = residual_block(g, net.rs3, h, path + '/rs3')
    return average_pool(g, h, path + '/pool2', 5, 1)


def resnet18(g, net, x, path):
    """``'resnet18'`` backbone: crops -> ``(M*V, 512, 1, 1)`` (global average pool)."""
    h = conv_bn(g, net.conv0, net.bn0, x, path + '/conv0', path + '/bn0', relu=True)
    h = max_pool(g, h, path + '/pool0', 3, 2, pad=1, cover_all=False)
    for i in range(net.num_blocks):
        name = 'rs%d' % (i + 1)
        h = residual_block(g, net[name], h, path + '/' + name)
    return global_average_pool(g, h, path + '/pool1')


def resnet152(g, net, x, path):
    """``'resnet152'`` backbone (Chainer's ``ResNetLayers``, child ``resnet``): crops ->
    ``(M*V, 2048, 1, 1)`` (``pool5``)."""
    r, p = net.resnet, path + '/resnet'
    h = conv_bn(g, r.conv1, r.bn1, x, p + '/conv1', p + '/bn1', relu=True)
    h = max_pool(g, h, p + '/pool1', 3, 2)             # pad 0, cover_all as Chainer's
    for name in ('res2', 'res3', 'res4', 'res5'):
        h = building_block(g, r[name], h, p + '/' + name)
    return global_average_pool(g, h, p + '/pool5')


#: ``config.backbone`` -> the function that exports the recognition network's backbone
BACKBONES = {'small-resnet': small_resnet, 'resnet18': resnet18, 'resnet152': resnet152}


def recognition(g, net, crops, path='recognition_net'):
    """``RecognitionNet``: crops ``(M*V, 3, Ho, Wo)``, the V views of a region adjacent
    -> logits ``(M, T, K)``."""
    if net.head == 'ctc':
        raise ExportError("%s: no exporter for the ctc head (its bidirectional LSTM over "
                          "the columns and CTC decoding are not exported); run a ctc model "
                          "in Chainer (predict.py --backend chainer)" % path)
    if net.backbone not in BACKBONES:
        raise ExportError('%s: no exporter for backbone %r (known: %s)'
                          % (path, net.backbone, ', '.join(sorted(BACKBONES))))
    h = crops
    if hasattr(net, 'data_bn'):
        h = batch_norm(g, net.data_bn, h, path + '/data_bn')
    h = BACKBONES[net.backbone](g, net, h, path)
    h = g.reshape(h, [-1, net.fc1.W.shape[1]], path + '/join_views')   # (M, V*C*h*w)
    h = g.op('Relu', [linear(g, net.fc1, h, path + '/fc1')], path + '/fc1/relu')
    T, K = net.num_chars, net.num_classes
    if net.head == 'independent':
        return g.reshape(linear(g, net.classifiers, h, path + '/classifiers'), [-1, T, K],
                         path + '/logits')
    if net.head != 'lstm':
        raise ExportError('%s: no exporter for head %r' % (path, net.head))
    hs = lstm(g, net.lstm, repeat(g, h, T, path + '/repeat'), path + '/lstm')
    if net.backward_lstm:
        hs = lstm(g, net.blstm, hs, path + '/blstm', reverse=True)
    hs = g.transpose(hs, (1, 0, 2), path + '/steps')                  # (M, T, units)
    return linear(g, net.classifier, hs, path + '/classifier')


def see(g, model, image):
    """The whole ``SEE`` on the input tensor ``image (B, 3, H, W)``.

    Returns ``{name: (tensor, shape)}`` for ``logits (B, N, T, K)``, ``boxes (B, N*V, 4)``,
    ``grids (B, N*V, 2, Ho, Wo)`` and ``crops (B, N*V, 3, Ho, Wo)``, as ``SEEOutput``
    has them (shapes with ``'batch'`` for the batch axis).
    """
    cfg = model.config
    V, N, C = cfg.views, cfg.num_regions, 3
    (Hv, Wv), (Ho, Wo) = cfg.view_size, cfg.crop_size
    xv = split_views(g, image, V, C, Hv, Wv) if V > 1 else image
    theta = localization(g, model.localization_net, xv)
    grid = affine_grid(g, theta, (Ho, Wo))                           # (BV, N, 2, Ho*Wo)
    crops = sample(g, xv, grid, N, C, (Ho, Wo))                      # (BV, N, C, Ho, Wo)
    boxes = grid_boxes(g, grid, (Hv, Wv), (Ho, Wo))                  # (BV, N, 4)
    grids = g.reshape(grid, [0, N, 2, Ho, Wo], 'grids/shape')
    if V > 1:
        crops = fold_views(g, crops, V, N, (C, Ho, Wo), 'crops/views')
        grids = fold_views(g, grids, V, N, (2, Ho, Wo), 'grids/views')
        boxes = fold_views(g, boxes, V, N, (4,), 'boxes/views')
        offset = numpy.zeros((N * V, 4), numpy.float32)
        offset[:, 0] = offset[:, 2] = (numpy.arange(N * V) % V) * Wv
        boxes = g.op('Add', [boxes, g.const('boxes/view_offset', offset)], 'boxes/image')
    flat = g.reshape(crops, [-1, C, Ho, Wo], 'recognition_net/crops')
    logits = recognition(g, model.recognition_net, flat)
    T, K = model.recognition_net.num_chars, model.recognition_net.num_classes
    logits = g.reshape(logits, [-1, N, T, K], 'logits/regions')
    return {'logits': (logits, ['batch', N, T, K]),
            'boxes': (boxes, ['batch', N * V, 4]),
            'grids': (grids, ['batch', N * V, 2, Ho, Wo]),
            'crops': (crops, ['batch', N * V, C, Ho, Wo])}

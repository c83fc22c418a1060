"""CPU path of :func:`chainer_see.functions.multi_grid_sampler`: vectorized NumPy.

Same arithmetic as the CUDA kernels (``cuda_kernels/multi_grid_sampler.cuh``) and as
``chainer.functions.spatial_transformer_sampler``, organised for NumPy:

* The image is copied once, channel-first with a one-pixel zero border
  (``(B, C, H + 2, W + 2)``), so that every neighbour of every clipped point is a valid
  index and no masks are needed.  It is never repeated per region.
* One flat index per grid point (its top-left neighbour, channel 0) is computed; the other
  three neighbours and the other channels are the same index into views of the flat padded
  image shifted by ``1``, ``W + 2``, ``W + 3`` and ``c * (H + 2) * (W + 2)`` elements.
* Gathers are ``numpy.take`` with ``out=``, scatters ``numpy.add.at`` (NumPy >= 1.25 runs
  it as a tight loop; older NumPy falls back to ``numpy.bincount``), all in the input dtype.
* Every operation is vectorised over all grid points of all regions of all images
  ``(B * N, Ho * Wo)``; the only Python loops run over the C channels and the 4 neighbours.
* Forward keeps, for backward, the padded image and per grid point its flat index, its
  four axis weights and two clip flags (26 bytes a point in float32).
* Temporaries live in per-thread scratch buffers that are kept between calls
  (:func:`release_scratch` frees them): fresh memory costs a page fault per 4 KiB.
"""
import numpy

from chainer_see.functions._scratch import ScratchPool

# numpy.add.at got an indexed fast loop in NumPy 1.25; before that it is ~20x slower than
# numpy.bincount (which, however, accumulates in float64).
ADD_AT_IS_FAST = numpy.lib.NumpyVersion(numpy.__version__) >= '1.25.0'


_scratch = ScratchPool()


def release_scratch():
    """Free the temporaries kept between calls (in this thread)."""
    _scratch.release()


def scatter_add(target, index, values, use_add_at=ADD_AT_IS_FAST):
    """``target[index[j]] += values[j]`` for all j, duplicates accumulated (1-D arrays)."""
    if use_add_at:
        numpy.add.at(target, index, values)
    else:
        s = numpy.bincount(index, weights=values)
        target[:s.size] += s.astype(target.dtype, copy=False)


def _axis(g, size, name):
    """Sampling along one axis for the grid values ``g``.

    Returns ``(inside, lo, w_lo, w_hi)``: where the gradient to the grid is not clipped off
    (bool), the index of the lower neighbour in the image padded by one pixel (a float
    holding an integer in [0, size], in scratch buffer ``'lo' + name``), and the weights of
    the lower and upper neighbours.
    """
    # Chainer and the kernels compute ((g + 1) * (size - 1)) / 2 + 1; (size - 1) / 2 is
    # exact in binary and halving commutes with rounding, so one multiply gives the same bits.
    p = g + 1
    p *= (size - 1) / 2
    p += 1                                   # coordinate in the padded image
    inside = p > 0
    inside &= numpy.less(p, size + 1, out=_scratch.get('below', p.shape, bool))
    numpy.clip(p, 0, size + 1, out=p)
    lo = numpy.floor(p, out=_scratch.get('lo' + name, p.shape, p.dtype))
    numpy.minimum(lo, size, out=lo)
    w_hi = p
    w_hi -= lo
    # bitwise equal to (lo + 1) - p: w_hi = p - lo is exact, and 1 - w_hi rounds as 1 - p
    # where lo = 0 and is exact where lo >= 1
    w_lo = 1 - w_hi
    return inside, lo, w_lo, w_hi


def _dpix(inside, size, out):
    """``out *= d(pixel)/d(grid)``: (size - 1) / 2 strictly inside the clip range, else 0."""
    out *= (size - 1) / 2
    numpy.multiply(out, inside, out=out)


def _axis_grad(lo0, hi0, lo1, hi1, w0, w1, inside, size, out, tmp):
    """``out = (w0 (hi0 - lo0) + w1 (hi1 - lo1)) * d(pixel)/d(grid)``: the gradient to one
    grid coordinate from the corner gradients ``G`` (``lo``/``hi``: the two corners along
    the axis, in the rows/columns weighted ``w0`` and ``w1``)."""
    numpy.subtract(hi0, lo0, out=out)
    out *= w0
    numpy.subtract(hi1, lo1, out=tmp)
    tmp *= w1
    out += tmp
    _dpix(inside, size, out)


class _Image(object):
    """The padded image (flat) and the sizes; what forward keeps for backward."""

    def __init__(self, x, N, Ho, Wo):
        B, C, H, W = x.shape
        self.B, self.C, self.H, self.W, self.N, self.Ho, self.Wo = B, C, H, W, N, Ho, Wo
        self.W2 = W + 2
        self.plane = (H + 2) * (W + 2)
        xpad = numpy.zeros((B, C, H + 2, W + 2), dtype=x.dtype)
        xpad[:, :, 1:-1, 1:-1] = x
        self.flat = xpad.reshape(-1)
        # shifts of the four neighbours: top-left, top-right, bottom-left, bottom-right
        self.shifts = (0, 1, self.W2, self.W2 + 1)
        # offset of image b (channel 0) in the flat padded image
        self.image_offset = numpy.arange(B, dtype=numpy.intp).reshape(B, 1, 1, 1)
        self.image_offset *= C * self.plane
        # row * (W + 2) + col is exact in the input dtype below 2**mantissa
        self.float_index = self.plane < 2 ** numpy.finfo(x.dtype).nmant


class _Points(object):
    """Indices and weights of all grid points, each a C-contiguous array (B, N, Ho, Wo)."""

    def __init__(self, img, grid):
        # C order matters: ufunc outputs follow their inputs' layout, and the flat views that
        # numpy.add.at needs must not be copies
        grid = numpy.ascontiguousarray(grid)
        self.inside_x, lo_x, self.wx_lo, self.wx_hi = _axis(grid[:, :, 0], img.W, 'x')
        self.inside_y, lo_y, self.wy_lo, self.wy_hi = _axis(grid[:, :, 1], img.H, 'y')
        # flat index of the top-left neighbour, channel 0, in the padded image
        if img.float_index:
            lo_y *= img.W2
            lo_y += lo_x
            idx = lo_y.astype(numpy.intp)
        else:
            idx = lo_y.astype(numpy.intp)
            idx *= img.W2
            idx += lo_x.astype(numpy.intp)
        idx += img.image_offset
        self.idx = idx
        self.img = img

    def weights(self):
        """Bilinear weights of the four neighbours, as in the CUDA kernels (scratch)."""
        pairs = ((self.wx_lo, self.wy_lo), (self.wx_hi, self.wy_lo),
                 (self.wx_lo, self.wy_hi), (self.wx_hi, self.wy_hi))
        return tuple(numpy.multiply(a, b, out=_scratch.get('w%d' % k, a.shape, a.dtype))
                     for k, (a, b) in enumerate(pairs))

    def gather(self, c, k, out):
        """Neighbour ``k`` of every point, channel ``c``, into ``out``."""
        img = self.img
        start = c * img.plane + img.shifts[k]
        # indices are in range by construction; 'wrap' then costs one compare ('clip' more)
        return numpy.take(img.flat[start:], self.idx, out=out, mode='wrap')


def forward(x, grid):
    """x (B, C, H, W), grid (B, N, 2, Ho, Wo) -> (y (B, N, C, Ho, Wo), state for backward)."""
    B, N, _, Ho, Wo = grid.shape
    img = _Image(x, N, Ho, Wo)
    pts = _Points(img, grid)
    w = pts.weights()
    y = numpy.empty((B, N, img.C, Ho, Wo), dtype=x.dtype)
    tmp = _scratch.get('tmp', pts.idx.shape, x.dtype)
    for c in range(img.C):
        yc = y[:, :, c]
        pts.gather(c, 0, tmp)
        numpy.multiply(w[0], tmp, out=yc)
        for k in range(1, 4):
            pts.gather(c, k, tmp)
            tmp *= w[k]
            yc += tmp
    return y, (img, pts)


def backward(state, gy, need_x, need_grid):
    """Gradients ``(gx or None, ggrid or None)`` from the state forward returned and
    gy (B, N, C, Ho, Wo)."""
    img, pts = state
    B, C, H, W, N, Ho, Wo = img.B, img.C, img.H, img.W, img.N, img.Ho, img.Wo
    dtype = img.flat.dtype
    tmp = _scratch.get('tmp', pts.idx.shape, dtype)
    gx = ggrid = None
    if need_x:
        w = pts.weights()
        gxpad = numpy.zeros((B, C, H + 2, W + 2), dtype=dtype)
        gflat = gxpad.reshape(-1)
        idx = pts.idx.reshape(-1)
        tmp_flat = tmp.reshape(-1)
        for c in range(C):
            gyc = gy[:, :, c]
            for k in range(4):
                numpy.multiply(gyc, w[k], out=tmp)
                scatter_add(gflat[c * img.plane + img.shifts[k]:], idx, tmp_flat)
        # a view into the padded buffer saves an image-sized copy; Chainer does not need
        # contiguous gradients
        gx = gxpad[:, :, 1:-1, 1:-1]
    if need_grid:
        # G[k] = sum_c gy_c * x_c(neighbour k)
        G = _scratch.get('G', (4,) + tmp.shape, dtype)
        if C == 0:
            G.fill(0)
        for c in range(C):
            gyc = gy[:, :, c]
            for k in range(4):
                if c == 0:
                    numpy.multiply(pts.gather(c, k, tmp), gyc, out=G[k])
                else:
                    pts.gather(c, k, tmp)
                    tmp *= gyc
                    G[k] += tmp
        ggrid = numpy.empty((B, N, 2, Ho, Wo), dtype=dtype)
        # d/dx = w_top (G_tr - G_tl) + w_bottom (G_br - G_bl); likewise along y
        _axis_grad(G[0], G[1], G[2], G[3], pts.wy_lo, pts.wy_hi, pts.inside_x, W,
                   ggrid[:, :, 0], tmp)
        _axis_grad(G[0], G[2], G[1], G[3], pts.wx_lo, pts.wx_hi, pts.inside_y, H,
                   ggrid[:, :, 1], tmp)
    return gx, ggrid

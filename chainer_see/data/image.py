"""Loading images as the model wants them: float32 ``(3, H, W)`` RGB in ``[0, 1]``.

Every PIL mode is converted:

- ``1``, ``L``, ``P``, ``RGB``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``: PIL's own conversion
  to 8-bit RGB (grey is copied to the three channels; CMYK uses PIL's formula).
- Modes with transparency (``LA``, ``La``, ``PA``, ``RGBA``, ``RGBa``, and ``P`` images
  with a transparency entry): composited on a **white** matte by default (``matte``),
  because transparent text images are nearly always dark ink on nothing, which a black
  matte would make invisible.
- 16-bit grey (``I;16``, ``I;16L``, ``I;16B``, ``I;16N``) and ``I`` (32-bit integer, as
  16-bit PNGs open in some Pillow versions): values taken as 16-bit and divided by 65535
  (so 65535 -> 1.0, 257 -> 1/255), clipped to ``[0, 65535]``.
- ``F`` (32-bit float): taken as already in ``[0, 1]`` and clipped.

Images are resized to ``image_size = (H, W)`` with PIL's bilinear filter (which
averages over the footprint when shrinking).  Only the first frame of animated files
is read; EXIF orientation is ignored (boxes in ground truth refer to stored pixels).

Too small: an image with a side under :data:`MIN_SIDE` pixels cannot show one character
(the smallest pixel fonts draw a digit in 3x5 pixels, 3 in the narrow direction however
it is turned), so it is refused with a :class:`DataError` where it is read for a model:
:func:`load_image` with an ``image_size``, :func:`image_size_of` (which decides a model
input from the first image) and :func:`check_size` for callers that open images
themselves.  PIL itself scales a 1x1 image to any size without complaint, which would
only feed the model a flat colour and count it in the figures.
"""
import numpy
from PIL import Image

from chainer_see.data.errors import DataError

#: smallest width and height (pixels) of an image that is read for a model
MIN_SIDE = 3

_SIXTEEN_BIT = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I')
_ALPHA = ('LA', 'La', 'PA', 'RGBA', 'RGBa')


def to_rgb8(img, matte=255):
    """PIL image of any 8-bit mode -> PIL ``RGB`` image (alpha composited on ``matte``)."""
    mode = img.mode
    if mode == 'RGB':
        return img
    if mode == 'P' and 'transparency' in img.info:
        img, mode = img.convert('RGBA'), 'RGBA'
    if mode in _ALPHA:
        rgba = img.convert('RGBA')
        back = Image.new('RGB', rgba.size, (matte, matte, matte))
        back.paste(rgba, mask=rgba.getchannel('A'))
        return back
    return img.convert('RGB')


def pil_to_array(img, image_size=None, matte=1.0):
    """PIL image -> float32 ``(3, H, W)`` in ``[0, 1]``, resized to ``image_size``.

    Args:
        img (PIL.Image.Image): any mode (see the module docstring).
        image_size (tuple or None): ``(H, W)``; ``None`` keeps the stored size.
        matte (float): grey level in ``[0, 1]`` behind transparent pixels (1 = white).
    """
    size_wh = None if image_size is None else (int(image_size[1]), int(image_size[0]))
    if img.mode in _SIXTEEN_BIT or img.mode == 'F':
        scale = 1.0 if img.mode == 'F' else 65535.0
        a = numpy.asarray(img, dtype=numpy.float64)
        a = numpy.clip(a / scale, 0.0, 1.0).astype(numpy.float32)
        if size_wh is not None and size_wh != img.size:
            a = numpy.asarray(Image.fromarray(a, mode='F').resize(size_wh, Image.BILINEAR))
            a = numpy.clip(a, 0.0, 1.0)
        return numpy.ascontiguousarray(numpy.broadcast_to(a, (3,) + a.shape), numpy.float32)
    rgb = to_rgb8(img, matte=int(round(255 * matte)))
    if size_wh is not None and size_wh != rgb.size:
        rgb = rgb.resize(size_wh, Image.BILINEAR)
    a = numpy.asarray(rgb, dtype=numpy.uint8).transpose(2, 0, 1)
    return a.astype(numpy.float32) * numpy.float32(1.0 / 255.0)


def open_image(path):
    """Open and fully decode an image file; raise :class:`DataError` naming it if unreadable."""
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise DataError(path, None, 'image file not found') from None
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:
        raise DataError(path, None, 'cannot read image (%s)' % (e,)) from None
    return img


def check_size(path, size_wh, min_side=MIN_SIDE):
    """Raise :class:`DataError` naming ``path`` when the image of ``size_wh = (W, H)`` has a
    side under ``min_side`` pixels (see the module docstring)."""
    w, h = size_wh
    if min(w, h) < min_side:
        raise DataError(path, None, 'image of %dx%d pixels is too small to read (each side '
                                    'needs at least %d pixels)' % (w, h, min_side))


def load_image(path, image_size=None, matte=1.0):
    """Read ``path`` -> float32 ``(3, H, W)`` RGB in ``[0, 1]`` (see :func:`pil_to_array`).

    With an ``image_size`` (the model input), an image smaller than :data:`MIN_SIDE`
    pixels a side raises :class:`DataError`; without one any size is returned as stored.
    """
    img = open_image(path)
    if image_size is not None:
        check_size(path, img.size)
    return pil_to_array(img, image_size=image_size, matte=matte)


def image_size_of(path, min_side=MIN_SIDE):
    """``(H, W)`` of an image file from its header (no full decode); an image with a side
    under ``min_side`` pixels raises :class:`DataError` (it would set a model input)."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except FileNotFoundError:
        raise DataError(path, None, 'image file not found') from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DataError(path, None, 'cannot read image (%s)' % (e,)) from None
    check_size(path, (w, h), min_side)
    return h, w

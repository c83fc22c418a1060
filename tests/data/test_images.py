import numpy
import pytest
from PIL import Image

from chainer_see.data import DataError, load_image


def _save(tmp_path, img, name):
    p = str(tmp_path / name)
    img.save(p)
    return p


def _check(x, rgb, size=(2, 3)):
    assert x.dtype == numpy.float32 and x.shape == (3,) + size
    numpy.testing.assert_allclose(x[:, 0, 0], rgb, atol=1e-6)


def test_rgb_grey_and_bilevel(tmp_path):
    _check(load_image(_save(tmp_path, Image.new('RGB', (3, 2), (255, 51, 0)), 'a.png')),
           [1, 0.2, 0])
    _check(load_image(_save(tmp_path, Image.new('L', (3, 2), 102), 'b.png')), [0.4] * 3)
    _check(load_image(_save(tmp_path, Image.new('1', (3, 2), 1), 'c.png')), [1, 1, 1])


def test_palette_with_and_without_transparency(tmp_path):
    p = Image.new('P', (3, 2), 1)
    p.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    _check(load_image(_save(tmp_path, p, 'p.png')), numpy.array([10, 20, 30]) / 255.0)
    p.info['transparency'] = 1
    p.save(str(tmp_path / 't.png'), transparency=1)
    _check(load_image(str(tmp_path / 't.png')), [1, 1, 1])          # white matte
    _check(load_image(str(tmp_path / 't.png'), matte=0.0), [0, 0, 0])


def test_alpha_is_composited_on_white(tmp_path):
    rgba = Image.new('RGBA', (3, 2), (0, 0, 0, 128))  # half-transparent black
    x = load_image(_save(tmp_path, rgba, 'a.png'))
    _check(x, [127 / 255.0] * 3)
    la = Image.new('LA', (3, 2), (0, 0))
    _check(load_image(_save(tmp_path, la, 'la.png')), [1, 1, 1])


def test_cmyk(tmp_path):
    cmyk = Image.new('CMYK', (3, 2), (0, 255, 255, 0))  # pure red
    _check(load_image(_save(tmp_path, cmyk, 'c.jpg'.replace('jpg', 'tiff'))), [1, 0, 0])


def test_sixteen_bit_grey_scales_to_unit_range(tmp_path):
    a = numpy.array([[65535, 257, 0], [32768, 0, 0]], numpy.uint16)
    p = _save(tmp_path, Image.fromarray(a), 'g16.png')
    assert Image.open(p).mode in ('I;16', 'I')
    x = load_image(p)
    assert x.shape == (3, 2, 3)
    numpy.testing.assert_allclose(x[0], a / 65535.0, atol=1e-6)
    numpy.testing.assert_array_equal(x[0], x[2])
    big = numpy.full((4, 6), 65535, numpy.uint16)
    numpy.testing.assert_allclose(load_image(_save(tmp_path, Image.fromarray(big), 'w.png'),
                                             (2, 3)), 1.0, atol=1e-6)


def test_resize_is_bilinear_to_h_w(tmp_path):
    a = numpy.zeros((4, 8, 3), numpy.uint8)
    a[:, 4:] = 255
    x = load_image(_save(tmp_path, Image.fromarray(a), 'r.png'), (2, 4))
    assert x.shape == (3, 2, 4)
    want = numpy.asarray(Image.fromarray(a).resize((4, 2), Image.BILINEAR)) / 255.0
    numpy.testing.assert_allclose(x, want.transpose(2, 0, 1), atol=1e-6)
    assert x[0, 0, 0] == 0 and x[0, 0, 3] == 1 and abs(x[0, 0, 1] + x[0, 0, 2] - 1) < 1e-6


def test_unreadable_and_missing(tmp_path):
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    with pytest.raises(DataError, match=r'bad.png: cannot read image'):
        load_image(str(tmp_path / 'bad.png'))
    with pytest.raises(DataError, match=r'nope.png: image file not found'):
        load_image(str(tmp_path / 'nope.png'))

"""draw_boxes: scaling of small images, boxes in the region colours, words, captions."""
import numpy
import pytest
from PIL import Image

from chainer_see.evaluation import draw


def grey(W, H, level=128):
    return Image.new('RGB', (W, H), (level, level, level))


def colour_share(img, colour, box=None):
    a = numpy.asarray(img.crop(box) if box else img).reshape(-1, 3)
    return float((a == numpy.array(colour)).all(axis=1).mean())


def test_small_images_are_scaled_up_and_boxes_follow():
    # a 10x8 image -> shorter side 256, scale 32; the box's left edge x = 1.5 (pixel-centre
    # coordinates) is at (1.5 + 0.5) * 32 = 64 pixels of the drawing
    img = draw.draw_boxes(grey(10, 8), [[1.5, 2.5, 5.5, 4.5]], ['42'])
    assert img.size == (320, 256)
    red = draw.PALETTE[0]
    lw = 2
    # the line is drawn just outside the edge
    column = numpy.asarray(img)[100:140, 64 - lw:64 + 1]
    assert (column == red).all(axis=-1).any(axis=1).all()
    # inside the box the image is untouched
    assert colour_share(img, (128, 128, 128), (80, 100, 160, 130)) == 1.0


def test_each_region_gets_its_colour_and_views_share_it():
    boxes = [[2, 2, 20, 20], [42, 2, 60, 20],      # region 1, views 0 and 1
             [2, 30, 20, 38], [42, 30, 60, 38]]    # region 2
    img = draw.draw_boxes(grey(80, 40, 255), boxes, ['ab', 'cd'], views=2, min_side=40)
    assert img.size == (80, 40)
    for n in range(2):
        c = draw.PALETTE[n]
        for v in range(2):
            x0 = 2 + 40 * v
            y0 = 2 if n == 0 else 30
            strip = numpy.asarray(img)[y0 + 4:y0 + 8, x0:x0 + 4]   # left edge, below label
            assert (strip == c).all(axis=-1).any(), (n, v)
    assert colour_share(img, draw.PALETTE[2]) == 0.0


def test_words_are_drawn_and_empty_slots_can_be_hidden():
    boxes = [[20, 30, 80, 60], [10, 10, 30, 20]]
    with_words = draw.draw_boxes(grey(100, 80), boxes, ['123', ''])
    no_words = draw.draw_boxes(grey(100, 80), boxes, None)
    hidden = draw.draw_boxes(grey(100, 80), boxes, ['123', ''], show_empty=False)
    # the label "1: 123" is wider than the label "1": more red pixels
    assert colour_share(with_words, draw.PALETTE[0]) > colour_share(no_words, draw.PALETTE[0])
    assert colour_share(hidden, draw.PALETTE[1]) == 0.0
    assert colour_share(with_words, draw.PALETTE[1]) > 0.0


def test_caption_band_and_true_boxes():
    img = draw.draw_boxes(grey(64, 64, 0), [[10, 10, 50, 50]], ['7'],
                          true_boxes=[[20, 20, 40, 40]], caption='read: 7\ntruth: 7')
    assert img.size[0] == 256 and img.size[1] > 256
    band = numpy.asarray(img)[256:]
    assert (band == 255).mean() > 0.5 and (band == 0).any()       # black text on white
    top_edge = numpy.asarray(img)[80:84, 82:164]     # true box edges at (20 + 0.5) * 4 = 82
    assert (top_edge == draw.TRUE_BOX_COLOUR).all(axis=-1).any()


@pytest.mark.parametrize('image', [
    numpy.full((3, 6, 9), 0.5, numpy.float32),          # dataset format (C, H, W)
    numpy.full((6, 9, 3), 128, numpy.uint8),            # (H, W, C)
    numpy.full((6, 9), 128, numpy.uint8),
    Image.new('L', (9, 6), 128),
    Image.new('RGBA', (9, 6), (128, 128, 128, 255)),
    Image.new('I;16', (9, 6), 128 * 257),
])
def test_any_image_form_is_accepted(image):
    pil = draw.to_pil(image)
    assert pil.mode == 'RGB' and pil.size == (9, 6)
    assert numpy.abs(numpy.asarray(pil).astype(int) - 128).max() <= 1


def test_large_images_are_scaled_down():
    img = draw.draw_boxes(grey(4000, 1000), [[0, 0, 100, 100]], ['1'])
    assert img.size == (2048, 512)


def test_boxes_out_of_the_image_widen_the_drawing_with_a_grey_margin():
    # 64x64 -> scale 4; a box from x = -10.5 (10 pixels left of the image) to 20
    img = draw.draw_boxes(grey(64, 64, 0), [[-10.5, 5, 20, 30]], ['1'])
    lw = 2
    assert img.size == (256 + 40 + lw + 1, 256)
    a = numpy.asarray(img)
    # margin 40 + lw + 1 = 43: the image starts at x = 43, the box's left edge at 3
    assert (a[200, :43] == draw.MARGIN_COLOUR).all()
    assert (a[200, 43:] == 0).all()
    assert (a[60, 3 - lw:4] == draw.PALETTE[0]).all(axis=-1).any()
    capped = draw.draw_boxes(grey(64, 64, 0), [[-1000, 5, 20, 30]], ['1'])
    assert capped.size == (256 + 128, 256)
    assert draw.draw_boxes(grey(64, 64, 0), [[-10.5, 5, 20, 30]], ['1'], margin=0).size == \
        (256, 256)

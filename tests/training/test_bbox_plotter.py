"""Box pictures: layout, colours per region, decoded text, the GIF."""
import os

import numpy
from PIL import Image

import chainer

from chainer_see import SEEOutput
from chainer_see.data.char_map import CharMap
from chainer_see.functions import affine_grid
from chainer_see.training.extensions.bbox_plotter import (
    PALETTE, RIGHT, WRONG, make_gif, region_corners, render_rows)


def fake_output(M, N, V, T=3, K=11, H=48, Wv=48, seed=0):
    rng = numpy.random.RandomState(seed)
    theta = numpy.zeros((M, N * V, 2, 3), numpy.float32)
    theta[..., 0, 0] = 0.4
    theta[..., 1, 1] = 0.3
    theta[..., 0, 2] = rng.uniform(-0.5, 0.5, (M, N * V))
    theta[..., 1, 2] = rng.uniform(-0.5, 0.5, (M, N * V))
    grids = affine_grid(theta, (12, 16)).array
    crops = rng.rand(M, N * V, 3, 12, 16).astype(numpy.float32)
    labels = rng.randint(1, K, (M, N, T)).astype(numpy.int32)
    logits = numpy.eye(K, dtype=numpy.float32)[labels] * 5      # predicts the labels ...
    logits[0, 0, 0] = numpy.eye(K)[0] * 5                       # ... but drops one char
    return SEEOutput(chainer.Variable(logits), chainer.Variable(grids),
                     chainer.Variable(crops), None), labels


def test_rows_show_boxes_in_region_colours_crops_and_text():
    M, N, V = 2, 2, 2
    out, labels = fake_output(M, N, V)
    images = numpy.full((M, 3, 48, 96), 0.5, numpy.float32)
    pic = render_rows(images, out, labels, CharMap.load('svhn'), V, (48, 48),
                      true_boxes=[numpy.array([[2, 2, 20, 20.]]), None], title='iteration 7')
    a = numpy.asarray(pic)
    assert pic.size[1] == 40 + M * (48 * 4 + 8)          # title + rows of 4x enlarged images
    img0 = a[40:40 + 192, :384]
    for n in range(N):                                    # both views of region n share a colour
        assert (img0 == PALETTE[n]).all(axis=-1).sum() > 50
    assert (img0 == (255, 255, 255)).all(axis=-1).sum() > 50   # the true box, white
    text_area = a[40:, 384:]
    assert (text_area == RIGHT).all(axis=-1).any()        # a right word (green) ...
    assert (text_area == WRONG).all(axis=-1).any()        # ... and the wrong one (red)


def test_region_corners_shift_views():
    out, _ = fake_output(1, 1, 2)
    c = region_corners(out.grids.array, (48, 48), 2)
    assert c.shape == (1, 2, 4, 2)
    single = region_corners(out.grids.array[:, 1:], (48, 48), 1)
    numpy.testing.assert_allclose(c[0, 1, :, 0], single[0, 0, :, 0] + 48)
    numpy.testing.assert_allclose(c[0, 1, :, 1], single[0, 0, :, 1])


def test_gif_pads_frames_of_different_sizes(tmp_path):
    for i, (w, h) in enumerate([(40, 30), (60, 30), (50, 45)]):
        Image.new('RGB', (w, h), (10 * i, 0, 0)).save(str(tmp_path / ('iter_%06d.png' % i)))
    gif = Image.open(make_gif(str(tmp_path)))
    assert gif.size == (60, 45) and gif.n_frames == 3
    gif = Image.open(make_gif(str(tmp_path), max_frames=2))     # the first and the last
    assert gif.size == (50, 45) and gif.n_frames == 2
    assert make_gif(str(tmp_path / 'none')) is None
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith('.tmp')]


def test_a_ctc_head_row_shows_the_best_path_reading():
    out, _ = fake_output(1, 1, 1, T=3)
    labels = numpy.array([[[2, 3, 0]]], numpy.int32)
    step = numpy.eye(11, dtype=numpy.float32)[labels] * 5                 # (1, 1, 3, 11)
    columns = numpy.eye(11, dtype=numpy.float32)[[[[2, 2, 0, 3, 3, 0, 0]]]] * 5   # W = 2T+1
    images = numpy.full((1, 3, 48, 48), 0.5, numpy.float32)

    def picture(logits, head):
        o = out._replace(logits=chainer.Variable(logits))
        return numpy.asarray(render_rows(images, o, labels, CharMap.load('svhn'), 1, (48, 48),
                                         head=head))
    read = picture(step, None)
    # the columns read '12' by best path: the same row as a step head that reads '12'
    numpy.testing.assert_array_equal(picture(columns, 'ctc'), read)
    assert (picture(columns, None) != read).any()          # per-column argmax: '11022'

"""VisualBackprop against a hand computation, on the model, and from the command line."""
import collections
import os

import numpy
import pytest
from PIL import Image

import chainer_see
from chainer_see import SEEConfig, save_model
from chainer_see.evaluation.visual_backprop import (
    localization_heatmaps, main, transition_ops, visual_backprop)


def box3(m):
    """Sum over each pixel's 3x3 neighbourhood, zeros outside (deconvolution of ones)."""
    H, W = m.shape
    p = numpy.zeros((H + 2, W + 2))
    p[1:-1, 1:-1] = m
    return sum(p[dy:dy + H, dx:dx + W] for dy in range(3) for dx in range(3))


def up2(m):
    """2x2 stride-2 deconvolution of ones: every value into a 2x2 block."""
    return numpy.kron(m, numpy.ones((2, 2)))


def normalized(m):
    return (m - m.min()) / (m.max() - m.min())


def test_matches_the_definition_on_hand_built_features():
    rng = numpy.random.RandomState(0)
    f0 = rng.rand(2, 4, 8, 8).astype(numpy.float32)     # input resolution 8x8
    f1 = rng.rand(2, 3, 8, 8).astype(numpy.float32)     # same size: a 3x3 conv
    f2 = rng.rand(2, 5, 4, 4).astype(numpy.float32)     # half: pool 2 + 3x3 conv
    feats = collections.OrderedDict([('a', f0), ('b', f1), ('c', f2)])
    got = visual_backprop(feats, input_size=(8, 8))
    assert got.shape == (2, 8, 8) and got.dtype == numpy.float32
    for b in range(2):
        a0, a1, a2 = (f[b].mean(axis=0) for f in (f0, f1, f2))
        m = up2(box3(a2)) * a1          # deepest -> middle: conv, then pool, reversed
        m = box3(m) * a0                # middle -> shallowest: a 3x3 conv
        m = box3(m)                     # shallowest -> the input: the first conv
        numpy.testing.assert_allclose(got[b], normalized(m), rtol=1e-5, atol=1e-6)
    assert got.min() == 0 and got.max() == 1


def test_a_single_deep_activation_lights_its_receptive_field_only():
    f0 = numpy.ones((1, 1, 16, 16), numpy.float32)
    f1 = numpy.zeros((1, 1, 8, 8), numpy.float32)
    f1[0, 0, 1, 1] = 1
    mask = visual_backprop([f0, f1], input_size=(16, 16))[0]
    # deep pixel (1, 1) -> 3x3 around it at 8x8 (rows/cols 0-2) -> 2x2 blocks at 16x16
    # (rows/cols 0-5) -> one more pixel of 3x3 spread: rows/cols 0-6
    assert (mask[:7, :7] > 0).all() and (mask[7:, :] == 0).all() and (mask[:, 7:] == 0).all()


def test_odd_sizes_and_bad_shapes():
    assert transition_ops((25, 25), (13, 13)) == [(2, 2, 0), (3, 1, 1)]
    assert transition_ops((75, 75), (37, 37)) == [(2, 2, 0), (3, 1, 1)]
    f = [numpy.ones((1, 2, 25, 25), numpy.float32), numpy.ones((1, 2, 13, 13), numpy.float32)]
    assert visual_backprop(f, input_size=(25, 25)).shape == (1, 25, 25)
    with pytest.raises(ValueError, match='cannot tell'):
        transition_ops((25, 25), (5, 5))


def test_model_heatmaps_have_the_input_size_also_for_several_views():
    cfg = SEEConfig.preset('svhn', image_size=(48, 96), views=2, crop_size=(36, 36),
                           loc_units=16, rec_units=16)
    model = chainer_see.SEE(cfg)
    x = numpy.random.RandomState(1).rand(3, 3, 48, 96).astype(numpy.float32)
    out, masks = localization_heatmaps(model, x)
    assert masks.shape == (3, 48, 96) and out.boxes.shape == (3, 2, 4)
    assert masks.min() >= 0 and masks.max() <= 1
    # each view is normalized on its own: both halves reach 1
    assert masks[:, :, :48].max() == 1 and masks[:, :, 48:].max() == 1


def test_command_line_writes_a_picture(tmp_path, capsys):
    cfg = SEEConfig.preset('svhn', image_size=(48, 48), crop_size=(36, 36), loc_units=16,
                           rec_units=16)
    path = str(tmp_path / 'model.npz')
    save_model(chainer_see.SEE(cfg), path)
    image = str(tmp_path / 'house.png')
    Image.fromarray((numpy.random.RandomState(2).rand(30, 50, 3) * 255).astype(numpy.uint8)
                    ).save(image)
    heat = str(tmp_path / 'heat.png')
    assert main([path, image, '--out', heat]) == 0
    picture = Image.open(heat)
    assert picture.size[1] == 48 * 4 and picture.size[0] > 3 * 48 * 4
    folder = str(tmp_path / 'many')
    assert main([path, image, image, '--out', folder]) == 0
    assert os.listdir(folder) == ['house_heat.png']
    assert main([str(tmp_path / 'nope.npz'), image]) == 2
    assert 'nope.npz' in capsys.readouterr().err

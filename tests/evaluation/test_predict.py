"""predict.py: any image mode and size, boxes mapped back to the image's pixels, single
photos repeated into the views of a multi-view model, bad files reported and skipped."""
import io
import json
import os

import numpy
import pytest
from PIL import Image

from chainer_see.data.image import load_image
from chainer_see.evaluation import predict as pr

from tests.evaluation import helpers as h

ZOOM = 0.9


def centred_box(view_w, view_h, offset=0.0):
    """Box of the untrained 'zoom' crop in a view: grid corners at -/+ZOOM, with -1 at pixel
    0 and +1 at pixel size-1."""
    x0, x1 = [(s * ZOOM + 1) * (view_w - 1) / 2.0 + offset for s in (-1, 1)]
    y0, y1 = [(s * ZOOM + 1) * (view_h - 1) / 2.0 for s in (-1, 1)]
    return [x0, y0, x1, y1]


def to_image(box, model_wh, image_wh):
    sx, sy = image_wh[0] / model_wh[0], image_wh[1] / model_wh[1]
    return [(box[0] + 0.5) * sx - 0.5, (box[1] + 0.5) * sy - 0.5,
            (box[2] + 0.5) * sx - 0.5, (box[3] + 0.5) * sy - 0.5]


@pytest.fixture(scope='module')
def svhn_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('predict')
    model = h.fixed_model(h.tiny_svhn_config(), varied=False)
    return model, h.save(model, str(tmp / 'model.npz'), dataset='synthetic-svhn')


def make_images(folder):
    rng = numpy.random.RandomState(3)
    paths = {}

    def put(name, img, **kw):
        paths[name] = str(folder / name)
        img.save(paths[name], **kw)
    put('grey.png', h.pattern_image(rng, (30, 20), 'L'))
    rgba = h.pattern_image(rng, (50, 40), 'RGBA')
    rgba.putalpha(Image.fromarray((numpy.arange(50)[None] * 5 % 256 *
                                   numpy.ones((40, 1))).astype(numpy.uint8)))
    put('alpha.png', rgba)
    put('palette.png', h.pattern_image(rng, (25, 25), 'P'))
    grey16 = (numpy.asarray(h.pattern_image(rng, (24, 36), 'L'), numpy.uint16) * 257)
    put('sixteen.png', Image.fromarray(grey16.astype(numpy.uint16)))
    put('cmyk.jpg', h.pattern_image(rng, (40, 30), 'CMYK'))
    put('wide.png', h.pattern_image(rng, (120, 25)))
    put('tiny.png', h.pattern_image(rng, (3, 4)))     # the smallest size read (MIN_SIDE 3)
    return paths


def test_every_mode_and_size_with_a_bad_file_in_between(svhn_model, tmp_path, capsys):
    model, path = svhn_model
    paths = make_images(tmp_path)
    (tmp_path / 'corrupt.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 40)
    order = ['grey.png', 'alpha.png', 'corrupt.png', 'palette.png', 'sixteen.png',
             'missing.png', 'cmyk.jpg', 'wide.png', 'tiny.png']
    args = [str(tmp_path / n) for n in order]
    assert Image.open(paths['sixteen.png']).mode.startswith('I')
    out_dir = tmp_path / 'annotated'
    buf = io.StringIO()
    rc = pr.main([path] + args + ['--out', str(out_dir), '--json', '--batch-size', '3'],
                 stdout=buf)
    assert rc == 2                                    # some images failed
    err = capsys.readouterr().err
    assert '%s: cannot read image' % (tmp_path / 'corrupt.png') in err
    assert '%s: image file not found' % (tmp_path / 'missing.png') in err
    assert '2 of 9 images could not be read' in err
    docs = json.loads(buf.getvalue())
    assert [os.path.basename(d['path']) for d in docs] == order
    box = centred_box(40, 40)
    chars = h.chars_of(model.config)
    for name, d in zip(order, docs):
        if name in ('corrupt.png', 'missing.png'):
            assert set(d) == {'path', 'error'}
            continue
        W, H = Image.open(paths[name]).size
        assert (d['width'], d['height']) == (W, H)
        # both regions: the centred crop, mapped from the 40x40 input to the image's pixels
        assert numpy.allclose(d['boxes'], [to_image(box, (40, 40), (W, H))] * 2, atol=0.006)
        logits, _ = h.run_one(model, load_image(paths[name], (40, 40)))
        assert d['words'] == h.decode_plain(logits, chars)
        assert d['confidence'] == pytest.approx(h.confidence_plain(logits)[0], rel=1e-4)
        assert d['repeated_into_views'] is False
        drawn = Image.open(d['annotated'])
        assert min(drawn.size) >= 256 or max(drawn.size) == 2048
        assert drawn.size[0] / drawn.size[1] == pytest.approx(W / H, rel=0.05)
    assert sorted(os.listdir(str(out_dir))) == sorted(
        os.path.splitext(n)[0] + '.see.png' for n in order
        if n not in ('corrupt.png', 'missing.png'))


def test_text_output_and_no_draw(svhn_model, tmp_path):
    model, path = svhn_model
    img = tmp_path / 'a.png'
    h.pattern_image(numpy.random.RandomState(0), (80, 20)).save(str(img))
    buf = io.StringIO()
    assert pr.main([path, str(img), '--no-draw', '--out', str(tmp_path / 'none')],
                   stdout=buf) == 0
    lines = buf.getvalue().splitlines()
    assert lines[0] == '%s  (80x20 RGB)' % img
    b = to_image(centred_box(40, 40), (40, 40), (80, 20))
    assert lines[1].endswith('box (%s)' % ', '.join('%.1f' % v for v in b))
    assert lines[3].startswith('  text: ')
    assert not (tmp_path / 'none').exists()


def test_same_names_in_two_folders_do_not_overwrite(svhn_model, tmp_path):
    _, path = svhn_model
    for sub in ('x', 'y'):
        (tmp_path / sub).mkdir()
        h.pattern_image(numpy.random.RandomState(1), (40, 40)).save(str(tmp_path / sub / 'p.png'))
    assert pr.main([path, str(tmp_path / 'x' / 'p.png'), str(tmp_path / 'y' / 'p.png'),
                    '--out', str(tmp_path / 'o')], stdout=io.StringIO()) == 0
    assert sorted(os.listdir(str(tmp_path / 'o'))) == ['p-2.see.png', 'p.see.png']


@pytest.fixture(scope='module')
def fsns_model():
    return h.fixed_model(h.tiny_fsns_config(), varied=False)


def test_multi_view_model_repeats_a_single_photo_and_says_so(fsns_model, tmp_path):
    model = fsns_model
    photo = h.pattern_image(numpy.random.RandomState(2), (50, 50))
    strip = h.pattern_image(numpy.random.RandomState(3), (200, 50))
    p_photo, p_strip = pr.predict(model, [photo, strip])
    assert p_photo.repeated and 'repeated into 4 views' in p_photo.note
    assert not p_strip.repeated and p_strip.note is None
    # repeated: one box per word, from one 40x40 view to the 50x50 photo
    assert p_photo.boxes.shape == (2, 4)
    assert numpy.allclose(p_photo.boxes, [to_image(centred_box(40, 40), (40, 40), (50, 50))] * 2,
                          atol=1e-4)
    # split: N*V boxes, view v shifted by v*40 in the 160x40 input, mapped to 200x50
    want = [to_image(centred_box(40, 40, 40 * v), (160, 40), (200, 50))
            for n in range(2) for v in range(4)]
    assert p_strip.boxes.shape == (8, 4)
    assert numpy.allclose(p_strip.boxes, want, atol=1e-4)
    # the repeated input is the photo resized to one view, four times
    x = pr.prepare(photo, model.config, True)
    assert x.shape == (3, 40, 160)
    for v in range(1, 4):
        assert (x[:, :, 40 * v:40 * (v + 1)] == x[:, :, :40]).all()
    forced = pr.predict(model, [strip], views='repeat')[0]
    assert forced.repeated and forced.boxes.shape == (2, 4)
    assert not pr.predict(model, [photo], views='split')[0].repeated


def test_multi_view_text_output_names_the_repetition(fsns_model, tmp_path):
    path = h.save(fsns_model, str(tmp_path / 'fsns.npz'))
    img = tmp_path / 'photo.png'
    h.pattern_image(numpy.random.RandomState(4), (64, 48)).save(str(img))
    buf = io.StringIO()
    assert pr.main([path, str(img), '--out', str(tmp_path / 'o')], stdout=buf) == 0
    assert 'a single image, not 4 views side by side (aspect 1.33:1, the model reads ' \
           '4.00:1): repeated into 4 views' in buf.getvalue().splitlines()[0]


def test_published_layout_needs_preset(tmp_path, capsys):
    from tests.model.test_model_io import published_file
    path = str(tmp_path / 'published.npz')
    published_file(path)
    img = tmp_path / 'a.png'
    h.pattern_image(numpy.random.RandomState(0), (64, 64)).save(str(img))
    assert pr.main([path, str(img), '--no-draw']) == 2
    assert '--preset svhn' in capsys.readouterr().err
    assert pr.main([path, str(img), '--no-draw', '--preset', 'svhn'],
                   stdout=io.StringIO()) == 0


def test_gpu_without_cuda_is_a_clear_error(svhn_model, tmp_path, monkeypatch, capsys):
    from chainer.backends import cuda
    monkeypatch.setattr(cuda, 'available', False)
    assert pr.main([svhn_model[1], 'x.png', '--gpu', '0']) == 2
    assert '--gpu 0: CuPy cannot use a GPU' in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        pr.main(['--help'])
    assert e.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())     # independent of the wrapping
    for opt in ('--preset', '--out', '--no-draw', '--json', '--views', '--batch-size', '--gpu'):
        assert opt in text, opt
    assert '(default: predictions)' in text and '(default: auto)' in text


def test_a_folder_in_the_way_of_an_annotated_name_gets_the_next_name(svhn_model, tmp_path):
    _, path = svhn_model
    h.pattern_image(numpy.random.RandomState(1), (40, 40)).save(str(tmp_path / 'p.png'))
    (tmp_path / 'o' / 'p.see.png').mkdir(parents=True)
    buf = io.StringIO()
    assert pr.main([path, str(tmp_path / 'p.png'), '--out', str(tmp_path / 'o')],
                   stdout=buf) == 0
    assert os.path.isfile(str(tmp_path / 'o' / 'p-2.see.png'))
    assert 'annotated: %s' % (tmp_path / 'o' / 'p-2.see.png') in buf.getvalue()

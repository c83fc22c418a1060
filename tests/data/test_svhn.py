import json
import os

import numpy
import pytest
from PIL import Image

from chainer_see.data import CharMap, DataError, GroundTruthDataset
from chainer_see.data.svhn import build_composites, convert_svhn, read_digit_struct

from tests.data import helpers

SVHN = CharMap.load('svhn')


def _photo(seed, size=(120, 90)):
    rng = numpy.random.RandomState(seed)
    return rng.randint(0, 256, size=(size[1], size[0], 3)).astype(numpy.uint8)


def _make_svhn(root):
    """Three photos: one digit, two digits (label 10 = '0'), six digits (dropped).

    Union boxes are 40x40, so the 30 % enlargement adds exactly 12 px on every side and
    the 64x64 crop is an exact copy of the photo's pixels (zeros outside it)."""
    os.makedirs(root)
    photos = {n: _photo(k) for k, n in enumerate(('1.png', '2.png', '3.png'))}
    for n, a in photos.items():
        Image.fromarray(a).save(os.path.join(root, n))
    entries = [
        ('1.png', [(7, 30, 20, 40, 40)]),                        # crop x 18..82, y 8..72
        ('2.png', [(1, 2, 3, 18, 40), (10, 22, 5, 20, 38)]),     # union 2..42 x 3..43
        ('3.png', [(d, 5 * j, 5, 5, 10) for j, d in enumerate([1, 2, 3, 4, 5, 6])]),
    ]
    helpers.write_digit_struct(os.path.join(root, 'digitStruct.mat'), entries)
    return photos


def test_read_digit_struct_single_and_multi_digit(tmp_path):
    _make_svhn(str(tmp_path / 'svhn'))
    entries = read_digit_struct(str(tmp_path / 'svhn' / 'digitStruct.mat'))
    assert [e.name for e in entries] == ['1.png', '2.png', '3.png']
    assert entries[0].labels == [7] and entries[1].labels == [1, 10]
    numpy.testing.assert_array_equal(entries[1].boxes, [[2, 3, 18, 40], [22, 5, 20, 38]])


def test_convert_svhn_crops_exactly(tmp_path):
    photos = _make_svhn(str(tmp_path / 'svhn'))
    out = str(tmp_path / 'crops')
    counts = convert_svhn(str(tmp_path / 'svhn'), out, report=lambda m: None)
    assert counts['kept'] == 2 and counts['dropped: more than 5 digits'] == 1
    ds = GroundTruthDataset(os.path.join(out, 'gt.tsv'), 'svhn')
    assert (len(ds), ds.num_words, ds.max_chars, ds.image_size) == (2, 1, 5, (64, 64))
    numpy.testing.assert_array_equal(ds[0][1], [[7, 0, 0, 0, 0]])
    numpy.testing.assert_array_equal(ds[1][1], [[1, 10, 0, 0, 0]])
    assert ds.words(1) == ['10']
    crop0 = numpy.asarray(Image.open(ds.image_path(0)))
    numpy.testing.assert_array_equal(crop0, photos['1.png'][8:72, 18:82])
    crop1 = numpy.asarray(Image.open(ds.image_path(1)))
    want = numpy.zeros((64, 64, 3), numpy.uint8)            # box 2..42 -> -10..54: pad 10
    want[9:, 10:] = photos['2.png'][0:55, 0:54]
    numpy.testing.assert_array_equal(crop1, want)
    # the union box sits at 12..52 (pixel edges) -> 11.5..51.5 in pixel-centre coordinates
    numpy.testing.assert_allclose(ds.true_boxes(0), [[11.5, 11.5, 51.5, 51.5]])


@pytest.mark.parametrize('kind', ['grid', 'random'])
def test_grid_and_random_composites(tmp_path, kind):
    root = str(tmp_path / 'crops')
    os.makedirs(os.path.join(root, 'images'))
    colours = {'1': (255, 0, 0), '22': (0, 255, 0), '333': (0, 0, 255), '4': (255, 255, 0)}
    rows, boxes = [], []
    for k, (text, c) in enumerate(colours.items()):
        Image.new('RGB', (64, 64), c).save(os.path.join(root, 'images', '%d.png' % k))
        rows.append(('images/%d.png' % k, [text]))
        boxes.append(('images/%d.png' % k, (64, 64), [[11.5, 11.5, 51.5, 51.5]]))
    from chainer_see.data.ground_truth import write_boxes, write_ground_truth
    write_ground_truth(os.path.join(root, 'gt.tsv'), rows, 1, 5, SVHN)
    write_boxes(os.path.join(root, 'gt.boxes.json'), boxes)
    out = str(tmp_path / kind)
    build_composites(os.path.join(root, 'gt.tsv'), out, kind=kind, count=6, seed=3,
                     min_numbers=2, max_numbers=4)
    ds = GroundTruthDataset(os.path.join(out, 'gt.tsv'), 'svhn')
    assert ds.image_size == (200, 200) and ds.num_words == 4
    for i in range(len(ds)):
        x, y = ds[i]
        words = ds.words(i)
        b = ds.true_boxes(i)
        assert len(b) == len(words) == (4 if kind == 'grid' else len(words))
        assert 2 <= len(words) <= 4
        for word, box in zip(words, b):     # the box centre shows that crop's colour
            cx, cy = int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)
            numpy.testing.assert_allclose(x[:, cy, cx] * 255, colours[word], atol=1)
        from chainer_see.data.reading_order import reading_order
        assert reading_order(b) == list(range(len(b)))


def _svhn_with_outside_boxes(root):
    """120x90 photos: 1.png fine, 2.png a digit box 4 px above and 6 px left of the photo
    (clipped), 3.png a second digit entirely right of the photo (an error)."""
    os.makedirs(root)
    photos = {n: _photo(k) for k, n in enumerate(('1.png', '2.png', '3.png'))}
    for n, a in photos.items():
        Image.fromarray(a).save(os.path.join(root, n))
    entries = [
        ('1.png', [(7, 30, 20, 40, 40)]),
        ('2.png', [(4, -6, -4, 46, 44)]),                        # visible part 0..40 x 0..40
        ('3.png', [(1, 10, 10, 20, 30), (2, 125, 10, 20, 30)]),  # digit 2 starts at x = 125
    ]
    helpers.write_digit_struct(os.path.join(root, 'digitStruct.mat'), entries)
    return photos


def test_digit_box_entirely_outside_names_the_entry(tmp_path):
    _svhn_with_outside_boxes(str(tmp_path / 'svhn'))
    mat = str(tmp_path / 'svhn' / 'digitStruct.mat')
    out = str(tmp_path / 'crops')
    with pytest.raises(DataError) as e:
        convert_svhn(str(tmp_path / 'svhn'), out, report=lambda m: None)
    assert str(e.value) == ('%s:image 3 (3.png): digit 2 (2) box left 125, top 10, width 20, '
                            'height 30 lies entirely outside the 120x90 image' % mat)
    assert not os.path.exists(out)


def test_skip_bad_skips_and_counts_outside_boxes_and_partly_outside_ones_are_clipped(tmp_path):
    photos = _svhn_with_outside_boxes(str(tmp_path / 'svhn'))
    out = str(tmp_path / 'crops')
    said = []
    counts = convert_svhn(str(tmp_path / 'svhn'), out, skip_bad=True, report=said.append)
    assert counts['kept'] == 2 and counts['skipped: digit box outside its image'] == 1
    assert counts['clipped digit boxes'] == 1
    assert said[0].startswith('skipped: ') and 'image 3 (3.png): digit 2 (2)' in said[0]
    assert said[-1] == ('3 images, 2 crops written, 0 dropped (more than 5 digits), 1 bad (1 '
                        'with a digit box outside its image), 1 digit boxes clipped to their '
                        'image')
    with open(os.path.join(out, 'conversion.json')) as f:
        assert json.load(f) == counts
    # 2.png: the clipped box is 0..40 x 0..40, so the crop is the photo's 0..52 x 0..52
    # (enlarged by 12 px, black above and left) and the true box sits at 12..52
    ds = GroundTruthDataset(os.path.join(out, 'gt.tsv'), 'svhn')
    assert ds.words(1) == ['4']
    want = numpy.zeros((64, 64, 3), numpy.uint8)
    want[12:, 12:] = photos['2.png'][0:52, 0:52]
    numpy.testing.assert_array_equal(numpy.asarray(Image.open(ds.image_path(1))), want)
    numpy.testing.assert_allclose(ds.true_boxes(1), [[11.5, 11.5, 51.5, 51.5]])


def test_prepare_script_outside_box_exits_2_with_one_line(tmp_path):
    import subprocess
    import sys
    _svhn_with_outside_boxes(str(tmp_path / 'svhn'))
    out = str(tmp_path / 'crops')
    r = subprocess.run([sys.executable, os.path.join(helpers.ROOT, 'datasets', 'svhn',
                                                     'prepare.py'), 'crops',
                        str(tmp_path / 'svhn'), out, '--no-progress'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ['error: %s:image 3 (3.png): digit 2 (2) box left 125, top '
                                     '10, width 20, height 30 lies entirely outside the 120x90 '
                                     'image' % (tmp_path / 'svhn' / 'digitStruct.mat')]
    assert not os.path.exists(out)

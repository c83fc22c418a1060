"""The SVHN converter keeps the boxes it knows (issue 17): ``gt.boxes.json`` holds, per
crop, one word box, the union of the number's digitStruct digit boxes, in pixel-centre
coordinates of the crop, so that real SVHN runs can use ``train.py --box-fraction``."""
import json
import os

import numpy
from PIL import Image

from chainer_see.data import GroundTruthDataset
from chainer_see.data.boxes import ink_box
from chainer_see.training.box_labels import BoxLabels

from tests.data import helpers

#: (name, digits as (label, left, top, width, height)); the photos are black with the
#: digit boxes painted white, so the ink of a crop is exactly where its digits are.
#: a.png: two digits whose union is 30..70 x 20..60 (40 x 40: the 30 % enlargement adds
#: 12 px on every side, the 64 x 64 crop is an exact copy of 18..82 x 8..72);
#: b.png: three digits of different heights, union 10..44 x 28..52 (34 x 24: resized).
DIGITS = [('a.png', [(1, 30, 20, 18, 40), (2, 52, 25, 18, 35)]),
          ('b.png', [(3, 10, 30, 10, 20), (4, 22, 28, 10, 24), (5, 34, 32, 10, 18)])]


def _svhn(root):
    os.makedirs(root)
    for name, digits in DIGITS:
        photo = numpy.zeros((90, 120, 3), numpy.uint8)
        for _, x, y, w, h in digits:
            photo[y:y + h, x:x + w] = 255
        Image.fromarray(photo).save(os.path.join(root, name))
    helpers.write_digit_struct(os.path.join(root, 'digitStruct.mat'), DIGITS)


def test_prepare_crops_writes_the_union_of_the_digit_boxes(tmp_path):
    _svhn(str(tmp_path / 'svhn'))
    out = str(tmp_path / 'crops')
    prepare = helpers.load_script('datasets/svhn/prepare.py')
    assert prepare.main(['crops', str(tmp_path / 'svhn'), out, '--no-progress']) == 0
    with open(os.path.join(out, 'gt.boxes.json')) as f:
        doc = json.load(f)
    images = doc['images']
    assert doc['views'] == 1 and sorted(images) == ['images/a.png', 'images/b.png']
    for rel, entry in images.items():
        assert entry['size'] == [64, 64]
        assert len(entry['boxes']) == 1                 # one word box, not one per digit
    # a.png: an exact copy, so the box is exactly the ink's outer edges (pixel centres)
    crop = numpy.asarray(Image.open(os.path.join(out, 'images', 'a.png')))[..., 0]
    ink = ink_box(crop / 255.0)
    assert ink.tolist() == [11.5, 11.5, 51.5, 51.5]
    assert images['images/a.png']['boxes'] == [[11.5, 11.5, 51.5, 51.5]]
    # b.png: resized (x 64/54.4, y 64/38.4); the box still spans all three digits, far
    # wider than any one of them (each 10 of the union's 34 px)
    box = numpy.array(images['images/b.png']['boxes'][0])
    numpy.testing.assert_allclose(box, [11.5, 11.5, 51.5, 51.5])
    crop = numpy.asarray(Image.open(os.path.join(out, 'images', 'b.png')))[..., 0]
    numpy.testing.assert_allclose(ink_box(crop / 255.0, threshold=0.5), box, atol=1.0)


def test_converted_boxes_reach_the_box_labels_resized_with_the_image(tmp_path):
    _svhn(str(tmp_path / 'svhn'))
    out = str(tmp_path / 'crops')
    helpers.load_script('datasets/svhn/prepare.py').main(
        ['crops', str(tmp_path / 'svhn'), out, '--no-progress'])
    ds = GroundTruthDataset(os.path.join(out, 'gt.tsv'), 'svhn', image_size=(32, 32))
    x, labels, boxes, mask = BoxLabels(ds, 1.0)[0]
    assert x.shape == (3, 32, 32)
    numpy.testing.assert_array_equal(labels[0, :2], [1, 2])
    # 64 -> 32: pixel edges map to edges, x' = (x + 0.5) / 2 - 0.5
    numpy.testing.assert_allclose(boxes, [[5.5, 5.5, 25.5, 25.5]])
    numpy.testing.assert_array_equal(mask, [1])
    _, _, boxes, mask = BoxLabels(ds, 0.0)[0]
    assert not boxes.any() and not mask.any()

import json
import os

import numpy
import pytest
from PIL import Image

from chainer_see.data import (CharMap, DataError, GroundTruthDataset, PaddedLabels,
                              load_curriculum, reading_order)
from chainer_see.data.boxes import rescale_boxes
from chainer_see.data.ground_truth import read_ground_truth, write_boxes, write_ground_truth

SVHN = CharMap.load('svhn')
FSNS = CharMap.load('fsns')


def _img(path, colour, size=(40, 30)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new('RGB', size, colour).save(path)


def test_published_format_one_word(tmp_path):
    _img(str(tmp_path / 'img' / 'a.png'), (255, 0, 0))
    _img(str(tmp_path / 'img' / 'b.png'), (0, 0, 255))
    (tmp_path / 'gt.tsv').write_text('1\t5\nimg/a.png\t1\t10\t0\t0\t0\nimg/b.png\t9\t9\t9\t9\t9\n')
    ds = GroundTruthDataset(str(tmp_path / 'gt.tsv'), 'svhn', image_size=(20, 10))
    assert (len(ds), ds.num_words, ds.max_chars, ds.image_size) == (2, 1, 5, (20, 10))
    x, y = ds[0]
    assert x.shape == (3, 20, 10) and x.dtype == numpy.float32 and y.dtype == numpy.int32
    numpy.testing.assert_allclose(x[:, 5, 5], [1, 0, 0])
    numpy.testing.assert_array_equal(y, [[1, 10, 0, 0, 0]])
    assert ds.words(0) == ['10'] and ds.words(1) == ['99999']
    numpy.testing.assert_allclose(ds[1][0][:, 0, 0], [0, 0, 1])
    assert ds.true_boxes(0) is None


def test_published_format_three_words_and_boxes_json(tmp_path):
    _img(str(tmp_path / 'x.png'), (9, 9, 9), size=(200, 100))
    ids = [5, 10, 0, 0] + [0] * 4 + [7, 0, 0, 0]   # "50", empty slot, "7"
    (tmp_path / 'gt.tsv').write_text('3\t4\n' + '\t'.join(['x.png'] + [str(i) for i in ids]) + '\n')
    write_boxes(str(tmp_path / 'gt.boxes.json'), [('x.png', (200, 100), [[9.5, 19.5, 49.5, 39.5],
                                                                         [99.5, 9.5, 119.5, 29.5]])])
    ds = GroundTruthDataset(str(tmp_path / 'gt.tsv'), 'svhn', image_size=(50, 100))
    numpy.testing.assert_array_equal(ds[0][1], numpy.array(ids).reshape(3, 4))
    assert ds.words(0) == ['50', '7']
    # 200x100 -> 100x50: halves, in the pixel-centre convention.
    numpy.testing.assert_allclose(ds.true_boxes(0), [[4.5, 9.5, 24.5, 19.5], [49.5, 4.5, 59.5, 14.5]])
    numpy.testing.assert_allclose(rescale_boxes([[-0.5, -0.5, 199.5, 99.5]], (100, 200), (50, 100)),
                                  [[-0.5, -0.5, 99.5, 49.5]])


def test_text_recognition_variant_and_readable_variant(tmp_path):
    _img(str(tmp_path / 'a.png'), (0, 0, 0))
    (tmp_path / 'text.tsv').write_text('21\t1\na.png\tRue de la Paix\n', encoding='utf-8')
    gt = read_ground_truth(str(tmp_path / 'text.tsv'), FSNS)
    assert gt.variant == 'text' and (gt.num_words, gt.max_chars) == (1, 21)
    assert FSNS.decode(gt.labels[0, 0]) == 'Rue de la Paix'
    (tmp_path / 'r.txt').write_text('#see-words\t4\t21\na.png\tQuai\t\tVoltaire\n', encoding='utf-8')
    gt = read_ground_truth(str(tmp_path / 'r.txt'), FSNS)
    assert gt.variant == 'readable' and gt.labels.shape == (1, 4, 21)
    assert [FSNS.decode(w) for w in gt.labels[0]] == ['Quai', '', 'Voltaire', '']
    # ambiguous 1x1 header reads as the published format unless told otherwise
    (tmp_path / 'one.tsv').write_text('1\t1\na.png\t10\n')
    assert read_ground_truth(str(tmp_path / 'one.tsv'), SVHN).labels[0, 0, 0] == 10
    with pytest.raises(DataError, match=r"one.tsv:2: word 1 '10' has 2 characters, more than "
                                        r"max chars 1"):
        read_ground_truth(str(tmp_path / 'one.tsv'), SVHN, variant='text')


@pytest.mark.parametrize('variant', ['words', 'readable'])
def test_write_then_read_round_trip_is_exact(tmp_path, variant):
    _img(str(tmp_path / 'i' / '0.png'), (1, 2, 3))
    rows = [('i/0.png', ['Rue', 'de', 'la', 'Paix']), ('i/0.png', ['Élysée']), ('i/0.png', [])]
    p = str(tmp_path / 'gt.tsv')
    write_ground_truth(p, rows, 4, 21, FSNS, variant)
    gt = read_ground_truth(p, FSNS)
    assert gt.variant == variant
    assert [[FSNS.decode(w) for w in lab if FSNS.decode(w)] for lab in gt.labels] == \
        [r[1] for r in rows]


def test_padded_labels_grow_and_refuse_to_shrink(tmp_path):
    _img(str(tmp_path / 'a.png'), (0, 0, 0))
    (tmp_path / 'gt.tsv').write_text('1\t5\na.png\t1\t2\t0\t0\t0\n')
    ds = GroundTruthDataset(str(tmp_path / 'gt.tsv'))
    p = PaddedLabels(ds, 3, 7)
    x, y = p[0]
    assert y.shape == (3, 7) and y.dtype == numpy.int32
    numpy.testing.assert_array_equal(y[0], [1, 2, 0, 0, 0, 0, 0])
    assert not y[1:].any() and (p.num_words, p.max_chars) == (3, 7)
    assert p.image_size == ds.image_size and p.char_map == ds.char_map
    with pytest.raises(ValueError, match='only grows.*1 words x 5 chars into 1 words x 4 chars'):
        PaddedLabels(ds, 1, 4)


def test_load_curriculum_resolves_paths(tmp_path):
    (tmp_path / 'sub').mkdir()
    for n in ('t1.tsv', 'v1.tsv', 't2.tsv', 'v2.tsv'):
        (tmp_path / 'sub' / n).write_text('1\t5\n')
    (tmp_path / 'sub' / 'c.json').write_text(json.dumps(
        [{'train': 't1.tsv', 'validation': 'v1.tsv'}, {'train': 't2.tsv', 'validation': 'v2.tsv'}]))
    levels = load_curriculum(str(tmp_path / 'sub' / 'c.json'))
    assert [os.path.basename(lv.train) for lv in levels] == ['t1.tsv', 't2.tsv']
    assert levels[1].validation == str(tmp_path / 'sub' / 'v2.tsv')
    (tmp_path / 'bad.json').write_text('[{"train": "x.tsv"}]')
    with pytest.raises(DataError, match=r'bad.json:level 1: expected \{"train"'):
        load_curriculum(str(tmp_path / 'bad.json'))
    (tmp_path / 'miss.json').write_text('[{"train": "x.tsv", "validation": "y.tsv"}]')
    with pytest.raises(DataError, match='miss.json:level 1: train file not found: x.tsv'):
        load_curriculum(str(tmp_path / 'miss.json'))


def test_reading_order_lines_then_left_to_right():
    boxes = [[120, 100, 160, 130],   # line 2, right
             [10, 12, 50, 40],       # line 1, left (overlaps line-1 right box by > half)
             [10, 105, 60, 135],     # line 2, left
             [100, 0, 150, 30]]      # line 1, right (top higher, yet after the left box)
    assert reading_order(boxes) == [1, 3, 2, 0]
    # overlapping by less than half the smaller height -> separate lines, top first
    assert reading_order([[100, 0, 120, 20], [0, 15, 20, 35]]) == [0, 1]
    assert reading_order([]) == []

import json
import os

import numpy
from PIL import Image

from chainer_see.data import CharMap, load_curriculum
from chainer_see.data.crc32c import crc32c, crc32c_numpy, crc32c_python, masked_crc32c
from chainer_see.data.fsns import convert_fsns
from chainer_see.data.ground_truth import read_ground_truth
from chainer_see.data.tfrecord import parse_example, read_records

from tests.data import helpers

FSNS = CharMap.load('fsns')


def test_crc32c_known_vector_and_implementations_agree():
    assert crc32c_python(b'123456789') == 0xE3069283
    assert crc32c(b'123456789') == 0xE3069283
    rng = numpy.random.RandomState(0)
    for n in (0, 1, 63, 64, 65, 129, 1000, 4097):
        data = rng.randint(0, 256, n).astype(numpy.uint8).tobytes()
        assert crc32c_numpy(data) == crc32c_python(data) == helpers.crc32c_bitwise(data)
    assert masked_crc32c(b'abc') == helpers.masked(b'abc')


def test_record_framing_and_example_decoding_against_protobuf_runtime(tmp_path):
    Ex = helpers.example_class()
    ex = Ex()
    ex.features.feature['b'].bytes_list.value.extend([b'\x00\xff', 'é'.encode()])
    ex.features.feature['i'].int64_list.value.extend([0, 133, -1, 2 ** 40])
    ex.features.feature['f'].float_list.value.extend([0.5, -2.0])
    shard = str(tmp_path / 'shard')
    helpers.write_fsns_shard(shard, [ex.SerializeToString(), b''])
    recs = list(read_records(shard))
    assert [r[0] for r in recs] == [0, 1]
    feats = parse_example(recs[0][1])
    assert feats['b'] == ('bytes', [b'\x00\xff', 'é'.encode()])
    assert feats['i'] == ('int64', [0, 133, -1, 2 ** 40])
    assert feats['f'] == ('float', [0.5, -2.0])
    assert parse_example(recs[1][1]) == {}
    # unpacked repeated int64 (field 1, wire type 0) is accepted too
    int_list = bytes([0x08, 5, 0x08, 7])
    feature = bytes([0x1A, len(int_list)]) + int_list
    entry = bytes([0x0A, 1]) + b'k' + bytes([0x12, len(feature)]) + feature
    features = bytes([0x0A, len(entry)]) + entry
    assert parse_example(bytes([0x0A, len(features)]) + features) == {'k': ('int64', [5, 7])}


def _write_fsns(root, split, shard_texts, seed=0):
    os.makedirs(os.path.join(root, split), exist_ok=True)
    images = {}
    for s, texts in enumerate(shard_texts):
        name = '%s-%05d-of-%05d' % (split, s, len(shard_texts))
        payloads = []
        for r, text in enumerate(texts):
            img = helpers.fsns_view_image(seed + 100 * s + r)
            images[(name, r)] = img
            payloads.append(helpers.fsns_example(img, text, FSNS))
        helpers.write_fsns_shard(os.path.join(root, split, name), payloads)
    return images


def test_fsns_conversion_swaps_classes_splits_words_and_writes_levels(tmp_path):
    src = str(tmp_path / 'fsns')
    train = _write_fsns(src, 'train', [['Rue de la Paix', 'Quai Voltaire'],
                                       ['Gare', 'Avenue  Victor Hugo', 'Rue du Pont Neuf Vieux']])
    _write_fsns(src, 'validation', [['Place Pasteur', 'Rue X']], seed=50)
    out = str(tmp_path / 'out')
    counts = convert_fsns(src, out, min_words=1, max_words=4, max_chars=21, report=lambda m: None)
    assert counts['train']['kept'] == 4 and counts['train']['dropped: more than 4 words'] == 1
    gt = read_ground_truth(os.path.join(out, 'train.tsv'), FSNS)
    assert (gt.num_words, gt.max_chars) == (4, 21)
    words = [[FSNS.decode(w) for w in lab if FSNS.decode(w)] for lab in gt.labels]
    assert words == [['Rue', 'de', 'la', 'Paix'], ['Quai', 'Voltaire'], ['Gare'],
                     ['Avenue', 'Victor', 'Hugo']]
    # exact ids: 'Rue' then blanks; no space class (133) inside a word, blank = 0
    numpy.testing.assert_array_equal(gt.labels[0, 0, :4], FSNS.encode('Rue') + [0])
    assert not (gt.labels == 133).any()
    assert gt.rel_paths[0] == 'train/train-00000-of-00002/000000.png'
    numpy.testing.assert_array_equal(numpy.asarray(Image.open(gt.paths[3])),
                                     train[('train-00001-of-00002', 1)])
    lv = read_ground_truth(os.path.join(out, 'train_2.tsv'), FSNS)
    assert lv.num_words == 2 and len(lv) == 1
    assert os.path.exists(os.path.join(out, 'train_3.tsv'))
    assert not os.path.exists(os.path.join(out, 'validation_1.tsv'))   # empty level not written
    levels = load_curriculum(os.path.join(out, 'curriculum.json'))
    assert [(os.path.basename(a), os.path.basename(b)) for a, b in levels] == \
        [('train_2.tsv', 'validation_2.tsv')]
    conv = json.load(open(os.path.join(out, 'conversion.json')))
    assert conv['validation']['kept'] == 2


def test_fsns_word_filters(tmp_path):
    src = str(tmp_path / 'fsns')
    _write_fsns(src, 'train', [['Rue de la Paix', 'Quai Voltaire', 'Boulevard Haussmann']])
    out = str(tmp_path / 'o')
    counts = convert_fsns(src, out, min_words=2, max_words=3, max_chars=8, report=lambda m: None)
    assert counts['train'] == {'dropped: a word longer than 8 chars': 1,
                               'dropped: more than 3 words': 1, 'kept': 1, 'records': 3}
    assert read_ground_truth(os.path.join(out, 'train_2.tsv'), FSNS).num_words == 2


def test_dropped_curriculum_levels_are_said_and_recorded(tmp_path):
    """train: 1, 2, 3 and 4 words; validation: 2 words only: levels 1, 3 and 4 lack
    validation images; with --max-words 5, level 5 has neither."""
    src = str(tmp_path / 'fsns')
    _write_fsns(src, 'train', [['Gare', 'Quai Voltaire', 'Avenue Victor Hugo',
                                'Rue de la Paix']])
    _write_fsns(src, 'validation', [['Place Pasteur', 'Rue X']], seed=50)
    said = []
    counts = convert_fsns(src, str(tmp_path / 'out'), max_words=5, report=said.append)
    want = {'1': '1 train image but no validation image with exactly 1 word (a level is '
                 'validated on its own images)',
            '3': '1 train image but no validation image with exactly 3 words (a level is '
                 'validated on its own images)',
            '4': '1 train image but no validation image with exactly 4 words (a level is '
                 'validated on its own images)',
            '5': 'no train and no validation image has exactly 5 words'}
    assert counts['curriculum'] == {'levels': [2], 'dropped': want, 'note': None}
    conv = json.load(open(str(tmp_path / 'out' / 'conversion.json')))
    assert conv['curriculum'] == counts['curriculum']
    lines = [m for m in said if m.startswith('curriculum level')]
    assert lines == ['curriculum level %s (exactly %s word%s) dropped: %s'
                     % (k, k, '' if k == '1' else 's', want[k]) for k in '1345']
    assert [os.path.basename(a) for a, _ in
            load_curriculum(str(tmp_path / 'out' / 'curriculum.json'))] == ['train_2.tsv']


def test_no_curriculum_without_a_validation_split_is_one_line(tmp_path):
    src = str(tmp_path / 'fsns')
    _write_fsns(src, 'train', [['Gare', 'Quai Voltaire']])
    said = []
    counts = convert_fsns(src, str(tmp_path / 'out'), report=said.append)
    note = 'no validation image: the validation split was not converted'
    assert counts['curriculum'] == {'levels': [], 'dropped': {}, 'note': note}
    assert [m for m in said if 'curriculum' in m] == ['no curriculum written: ' + note]
    assert not os.path.exists(str(tmp_path / 'out' / 'curriculum.json'))

"""Bad input: one clear message naming file and line, exit status 2 for the scripts,
nothing half-written left behind, and ``--skip-bad`` reporting and skipping."""
import os
import subprocess
import sys

import pytest
from PIL import Image

from chainer_see.data import CharMap, DataError, GroundTruthDataset
from chainer_see.data.ground_truth import read_ground_truth
from chainer_see.data.tfrecord import read_records

from tests.data import helpers

SVHN = CharMap.load('svhn')
FSNS = CharMap.load('fsns')


def _gt(tmp_path, text, name='gt.tsv', image=True):
    if image:
        Image.new('RGB', (8, 8)).save(str(tmp_path / 'a.png'))
    p = tmp_path / name
    p.write_text(text, encoding='utf-8')
    return str(p)


@pytest.mark.parametrize('text, message', [
    ('2\t5\na.png\t1\t2\t3\t4\t5\t0\t0\t0\t0\t0\na.png\t1\t2\t3\t4\t5\t6\t7\n',
     r'gt.tsv:3: expected 1\+10 columns \(2 words x 5 chars\), found 8$'),
    ('4\t5\na.png\t1\t2\t3\t4\t5\n',                                  # header/rows mismatch
     r'gt.tsv:2: expected 1\+20 columns \(4 words x 5 chars\), found 6$'),
    ('1\t5\na.png\t1\t2\t3\t4\t5\t\n',
     r'gt.tsv:2: expected 1\+5 columns .* found 7 \(the last one empty: a trailing tab\?\)$'),
    ('1\t5\na.png\t1\t11\t0\t0\t0\n',
     r'gt.tsv:2: column 3: unknown class id 11 \(char map svhn has 0..10\)$'),
    ('1\t5\na.png\t1\tx\t0\t0\t0\n', r"gt.tsv:2: column 3: 'x' is not an integer class id$"),
    ('#see-words\t2\t5\na.png\t123\t123456\n',
     r"gt.tsv:2: word 2 '123456' has 6 characters, more than max chars 5$"),
    ('#see-words\t1\t5\na.png\t12a\n',
     r"gt.tsv:2: word 1 '12a': character 'a' \(U\+0061\) is not in char map svhn$"),
    ('1\t5\nimg/x.png\t1\t0\t0\t0\t0\n', r'gt.tsv:2: image not found: img/x.png$'),
    ('', r'gt.tsv: empty file'),
    ('\n\n', r'gt.tsv: empty file'),
    ('1\t5\n', r'gt.tsv: no examples after the header$'),
    ('one\tfive\na.png\n', r'gt.tsv:1: header must be "<words per image>\\t<max chars per word>"'),
    ('1\t5\n\na.png\t1\t0\t0\t0\t0\n', r'gt.tsv:2: empty line$'),
])
def test_ground_truth_errors_name_file_line_and_reason(tmp_path, text, message):
    p = _gt(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        GroundTruthDataset(p, 'svhn')
    assert info.value.path == p


def test_unreadable_image_names_the_gt_line(tmp_path):
    p = _gt(tmp_path, '1\t5\na.png\t1\t0\t0\t0\t0\nbad.png\t2\t0\t0\t0\t0\n')
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    ds = GroundTruthDataset(p, 'svhn')
    ds[0]
    with pytest.raises(DataError, match=r'gt.tsv:3: cannot read image .*: bad.png$'):
        ds[1]


def test_boxes_file_that_does_not_match_is_rejected(tmp_path):
    p = _gt(tmp_path, '1\t5\na.png\t1\t0\t0\t0\t0\n')
    (tmp_path / 'gt.boxes.json').write_text(
        '{"format": "chainer-see boxes", "images": {"a.png": {"size": [8, 8], "boxes": []}}}')
    with pytest.raises(DataError, match=r'gt.boxes.json: a.png has 0 boxes but .*gt.tsv:2 has '
                                        r'1 words x 1 views'):
        GroundTruthDataset(p, 'svhn')


def test_skip_bad_reports_each_line_and_a_count(tmp_path):
    p = _gt(tmp_path, '1\t5\na.png\t1\t0\t0\t0\t0\na.png\t99\t0\t0\t0\t0\nb.png\t1\t0\t0\t0\t0\n'
                      'a.png\t3\t0\t0\t0\t0\n')
    seen = []
    ds = GroundTruthDataset(p, 'svhn', skip_bad=True, report=seen.append)
    assert len(ds) == 2 and ds.words(1) == ['3']
    assert seen[0].startswith('skipped: ') and seen[0].endswith('gt.tsv:3: column 2: unknown '
                                                                'class id 99 (char map svhn has 0..10)')
    assert seen[1].endswith('gt.tsv:4: image not found: b.png')
    assert seen[2] == 'skipped 2 of 4 rows of %s' % p


# ----------------------------------------------------------------------------- TFRecord

def test_tfrecord_crc_errors_name_shard_and_record(tmp_path):
    good = helpers.frame(b'hello')
    p = tmp_path / 'train-00000-of-00001'
    p.write_bytes(good + helpers.frame(b'world', corrupt_payload_crc=True) + good)
    with pytest.raises(DataError, match=r'train-00000-of-00001:record 1: payload CRC mismatch '
                                        r'\(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)'):
        list(read_records(str(p)))
    errors = []
    assert [r for r in read_records(str(p), on_error=errors.append)] == [(0, b'hello'), (2, b'hello')]
    p.write_bytes(good + helpers.frame(b'world', corrupt_length_crc=True) + good)
    with pytest.raises(DataError, match=r':record 1: length CRC mismatch at byte 21'):
        list(read_records(str(p)))
    p.write_bytes(good + good[:-3])
    with pytest.raises(DataError, match=r':record 1: truncated record: header says 5 payload bytes'):
        list(read_records(str(p)))
    p.write_bytes(b'')
    with pytest.raises(DataError, match=r'train-00000-of-00001:record 0: empty file'):
        list(read_records(str(p)))


def _fsns_root(tmp_path, tail=b'', bad_payload=None):
    src = tmp_path / 'fsns'
    (src / 'train').mkdir(parents=True)
    payloads = [helpers.fsns_example(helpers.fsns_view_image(1), 'Rue de la Paix', FSNS),
                helpers.fsns_example(helpers.fsns_view_image(2), 'Quai Voltaire', FSNS)]
    if bad_payload is not None:
        payloads.insert(1, bad_payload)
    helpers.write_fsns_shard(str(src / 'train' / 'train-00000-of-00001'), payloads, tail)
    return str(src)


def _run(script, argv, capsys):
    mod = helpers.load_script(script)
    with pytest.raises(SystemExit) as info:
        mod.run_script(mod.main, argv)
    return info.value.code, capsys.readouterr().err


def _left_behind(parent):
    return [n for n in os.listdir(parent) if n.startswith('.')]


def test_fsns_script_corrupt_crc_exit_2_and_no_output(tmp_path, capsys):
    src = _fsns_root(tmp_path, tail=helpers.frame(b'x' * 40, corrupt_payload_crc=True))
    out = str(tmp_path / 'out')
    code, err = _run('datasets/fsns/prepare.py', [src, out, '--no-progress'], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        'error: %s:record 2: payload CRC mismatch (stored 0x%08x, computed 0x%08x): corrupt record'
        % (os.path.join(src, 'train', 'train-00000-of-00001'),
           helpers.masked(b'x' * 40) ^ 1, helpers.masked(b'x' * 40)))
    assert not os.path.exists(out) and not _left_behind(str(tmp_path))


@pytest.mark.parametrize('payload, reason', [
    (b'\x0a\x05\x0a', 'not a tf.train.Example (malformed protobuf: wire format was corrupt)'),
    (helpers.fsns_example(helpers.fsns_view_image(3), 'Rue', FSNS, classes=[44, 140] + [133] * 35),
     'unknown class id 140 in image/class (0..133)'),
    (helpers.fsns_example(helpers.fsns_view_image(3), 'Rue', FSNS, text='Rua'),
     "image/text 'Rua' does not match image/class, which spells 'Rue'"),
])
def test_fsns_bad_records_and_skip_bad(tmp_path, capsys, payload, reason):
    src = _fsns_root(tmp_path, bad_payload=payload)
    out = str(tmp_path / 'out')
    code, err = _run('datasets/fsns/prepare.py', [src, out, '--no-progress'], capsys)
    shard = os.path.join(src, 'train', 'train-00000-of-00001')
    assert code == 2 and err.strip().splitlines()[-1] == 'error: %s:record 1: %s' % (shard, reason)
    assert not os.path.exists(out) and not _left_behind(str(tmp_path))
    mod = helpers.load_script('datasets/fsns/prepare.py')
    assert mod.main([src, out, '--skip-bad', '--no-progress']) == 0
    err = capsys.readouterr().err
    assert 'skipped: %s:record 1: %s' % (shard, reason) in err
    assert 'skipped 1 of 3 bad records or shards' in err
    gt = read_ground_truth(os.path.join(out, 'train.tsv'), FSNS)
    assert [FSNS.decode(lab[0]) for lab in gt.labels] == ['Rue', 'Quai']
    assert gt.rel_paths == ['train/train-00000-of-00001/000000.png',
                            'train/train-00000-of-00001/000002.png']


# ----------------------------------------------------------------------------- SVHN

def _svhn_root(tmp_path, entries, images=('1.png', '2.png')):
    src = tmp_path / 'svhn'
    src.mkdir()
    for n in images:
        Image.new('RGB', (60, 60), (10, 20, 30)).save(str(src / n))
    helpers.write_digit_struct(str(src / 'digitStruct.mat'), entries)
    return str(src)


@pytest.mark.parametrize('entries, reason', [
    ([('1.png', [(3, 5, 5, 10, 20)]), ('2.png', [(11, 5, 5, 10, 20)])],
     'image 2 (2.png): unknown digit label 11.0 (SVHN labels are 1..10)'),
    ([('1.png', [(3, 5, 5, 10, 20)]), ('2.png', [(1, 5, 5, 0, 20), (2, 15, 5, 10, 20)])],
     'image 2 (2.png): digit box with width or height <= 0'),
    ([('1.png', [(3, 5, 5, 10, 20)]), ('9.png', [(1, 5, 5, 10, 20)])],
     'image 2 (9.png): image file not found'),
])
def test_svhn_script_bad_entries(tmp_path, capsys, entries, reason):
    src = _svhn_root(tmp_path, entries)
    out = str(tmp_path / 'crops')
    code, err = _run('datasets/svhn/prepare.py', ['crops', src, out, '--no-progress'], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == 'error: %s:%s' % (
        os.path.join(src, 'digitStruct.mat'), reason)
    assert not os.path.exists(out) and not _left_behind(str(tmp_path))
    mod = helpers.load_script('datasets/svhn/prepare.py')
    assert mod.main(['crops', src, out, '--skip-bad', '--no-progress']) == 0
    assert 'skipped: %s:%s' % (os.path.join(src, 'digitStruct.mat'), reason) in capsys.readouterr().err
    assert len(GroundTruthDataset(os.path.join(out, 'gt.tsv'))) == 1


def test_svhn_unreadable_photo_and_empty_digit_struct(tmp_path, capsys):
    src = _svhn_root(tmp_path, [('1.png', [(3, 5, 5, 10, 20)]), ('2.png', [(4, 5, 5, 10, 20)])])
    with open(os.path.join(src, '2.png'), 'wb') as f:
        f.write(b'garbage')
    code, err = _run('datasets/svhn/prepare.py', ['crops', src, str(tmp_path / 'o'),
                                                  '--no-progress'], capsys)
    assert code == 2 and ':image 2 (2.png): cannot read image' in err
    open(os.path.join(src, 'digitStruct.mat'), 'wb').close()
    code, err = _run('datasets/svhn/prepare.py', ['crops', src, str(tmp_path / 'o'),
                                                  '--no-progress'], capsys)
    assert code == 2 and 'digitStruct.mat: not an HDF5 (MATLAB v7.3) file' in err
    assert not _left_behind(str(tmp_path))


def test_generator_refuses_a_non_empty_output_and_cli_exit_status(tmp_path):
    out = tmp_path / 'd'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    r = subprocess.run([sys.executable, os.path.join(helpers.ROOT, 'datasets/synthetic/generate.py'),
                        '--kind', 'svhn-crops', '--count', '2', '--out', str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert r.stderr.strip() == 'error: %s: output exists and is not an empty folder (choose ' \
                               'another, or pass --overwrite)' % out
    assert os.listdir(str(out)) == ['keep.txt'] and not _left_behind(str(tmp_path))


def test_failure_midway_removes_the_temporary_folder(tmp_path, monkeypatch):
    from chainer_see.data import synthetic
    ds = synthetic.SyntheticDataset('svhn-crops', 5)
    calls = []

    def boom(i, with_masks=False):
        calls.append(i)
        if i == 3:
            raise RuntimeError('crash')
        return synthetic.SyntheticDataset.render(ds, i)
    monkeypatch.setattr(ds, 'render', boom)
    with pytest.raises(RuntimeError):
        synthetic.write_dataset(ds, str(tmp_path / 'out'), show_progress=False)
    assert calls == [0, 1, 2, 3]
    assert os.listdir(str(tmp_path)) == []


def test_images_too_small_to_read_name_the_gt_line(tmp_path):
    """A 1x1 or 2x2 image scales to any model input without complaint from PIL and only
    feeds the model a flat colour: refused where it is read for a model, naming the line."""
    from chainer_see.data.image import MIN_SIDE, load_image
    Image.new('RGB', (8, 8)).save(str(tmp_path / 'a.png'))
    Image.new('RGB', (1, 1)).save(str(tmp_path / 'dot.png'))
    Image.new('RGB', (2, 2)).save(str(tmp_path / 'two.png'))
    Image.new('RGB', (MIN_SIDE, 40)).save(str(tmp_path / 'thin.png'))
    p = _gt(tmp_path, '1\t5\na.png\t1\t0\t0\t0\t0\ndot.png\t1\t0\t0\t0\t0\n'
                      'two.png\t1\t0\t0\t0\t0\nthin.png\t1\t0\t0\t0\t0\n', image=False)
    ds = GroundTruthDataset(p, 'svhn', image_size=(40, 40))
    assert ds[0][0].shape == (3, 40, 40) and ds[3][0].shape == (3, 40, 40)
    with pytest.raises(DataError, match=r'gt.tsv:3: image of 1x1 pixels is too small to read '
                                        r'\(each side needs at least 3 pixels\): dot.png$'):
        ds[1]
    with pytest.raises(DataError, match=r'gt.tsv:4: image of 2x2 pixels is too small'):
        ds[2]
    # the first image decides the input size when none is given: checked there too
    first = _gt(tmp_path, '1\t5\ntwo.png\t1\t0\t0\t0\t0\na.png\t1\t0\t0\t0\t0\n', 'first.tsv',
                image=False)
    with pytest.raises(DataError, match=r'first.tsv:2: image of 2x2 pixels is too small to '
                                        r'read .*: two.png$'):
        GroundTruthDataset(first, 'svhn')
    # read as stored (no model input), any size is an image
    assert load_image(str(tmp_path / 'dot.png')).shape == (3, 1, 1)

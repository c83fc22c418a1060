import filecmp
import io
import os
import subprocess
import sys

import numpy
import pytest

from chainer_see.data import CharMap, GroundTruthDataset, SyntheticDataset
from chainer_see.data.boxes import ink_box
from chainer_see.data.fsns_like import (FIRST_NAMES, NOUNS_DES, NOUNS_DU, NOUNS_LA, ONE_WORD,
                                        SURNAMES, TITLES, TYPES)
from chainer_see.data.reading_order import reading_order
from chainer_see.progress import Progress, progress

from tests.data import helpers

SIZES = {'svhn-crops': ((64, 64), 1, 1), 'svhn-grid': ((200, 200), 4, 1),
         'svhn-random': ((200, 200), 4, 1), 'svhn-random128': ((128, 128), 4, 1),
         'fsns-like': ((150, 600), 4, 4)}


@pytest.mark.parametrize('kind', sorted(SIZES))
def test_examples_shapes_and_access_order_independence(kind):
    size, n, views = SIZES[kind]
    a = SyntheticDataset(kind, 10, seed=7)
    b = SyntheticDataset(kind, 10, seed=7)
    x, y = a[3]
    assert x.shape == (3,) + size and x.dtype == numpy.float32
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.02
    assert y.shape == (n, 21 if kind == 'fsns-like' else 5) and y.dtype == numpy.int32
    b[5]
    b[0]
    numpy.testing.assert_array_equal(b[3][0], x)                # order does not matter
    numpy.testing.assert_array_equal(b[3][1], y)
    assert not numpy.array_equal(SyntheticDataset(kind, 10, seed=8)[3][0], x)
    words = a.words(3)
    assert [a.char_map.decode(r) for r in y if a.char_map.decode(r)] == words
    boxes = a.true_boxes(3)
    assert boxes.shape == (len(words) * views, 4)
    # labels in reading order: the boxes of view 0 are in reading order
    assert reading_order(boxes.reshape(len(words), views, 4)[:, 0]) == list(range(len(words)))


@pytest.mark.parametrize('kind', sorted(SIZES))
def test_true_boxes_land_on_the_ink(kind):
    ds = SyntheticDataset(kind, 6, seed=11)
    views = ds.num_views
    for i in range(3):
        s = ds.render(i, with_masks=True)
        assert s.words == ds.words(i)
        boxes = s.boxes.reshape(len(s.words), views, 4)
        for n, mask in enumerate(s.masks):
            for v in range(views):
                m = mask.copy()
                if views > 1:           # keep the ink of view v only
                    m[:, :v * 150] = 0
                    m[:, (v + 1) * 150:] = 0
                b = boxes[n, v]
                ys, xs = numpy.mgrid[:m.shape[0], :m.shape[1]]
                inside = (xs >= b[0] - 0.5) & (xs <= b[2] + 0.5) & (ys >= b[1] - 0.5) & (ys <= b[3] + 0.5)
                ink = m.sum()
                assert ink > 0
                assert m[inside].sum() / ink > 0.97, (kind, i, n, v)
                tight = ink_box(m, 0.25)                       # the box is not much larger
                area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
                assert area(tight) / area(b) > 0.6, (kind, i, n, v, tight, b)


def test_resized_dataset_scales_boxes_and_curriculum_options():
    big = SyntheticDataset('svhn-random', 5, seed=1, min_numbers=2, max_numbers=3)
    small = SyntheticDataset('svhn-random', 5, seed=1, min_numbers=2, max_numbers=3,
                             image_size=(100, 100))
    assert big.num_words == 3 and small[0][0].shape == (3, 100, 100)
    numpy.testing.assert_allclose(small.true_boxes(0), (big.true_boxes(0) + 0.5) / 2 - 0.5,
                                  rtol=1e-6)
    assert all(2 <= len(big.words(i)) <= 3 for i in range(5))
    assert SyntheticDataset('svhn-crops', 3, num_words=2)[0][1].shape == (2, 5)
    with pytest.raises(ValueError, match='num_words 1 is less than the 4 words'):
        SyntheticDataset('svhn-grid', 3, num_words=1)


def test_street_name_vocabulary_fits_the_fsns_char_map():
    m = CharMap.load('fsns')
    for group in (TYPES, SURNAMES, FIRST_NAMES, TITLES, NOUNS_LA, NOUNS_DU, NOUNS_DES, ONE_WORD):
        for w in group:
            m.encode(w)
            m.encode(w.upper())
            assert all(len(p) <= 21 for p in w.split(' '))


def test_generate_script_same_seed_same_bytes(tmp_path):
    gen = helpers.load_script('datasets/synthetic/generate.py')
    for name in ('a', 'b'):
        assert gen.main(['--kind', 'svhn-grid', '--count', '3', '--seed', '4', '--out',
                         str(tmp_path / name), '--no-progress']) == 0
    files = sorted(os.listdir(str(tmp_path / 'a' / 'images')))
    assert files == ['000000.png', '000001.png', '000002.png']
    match, mismatch, errors = filecmp.cmpfiles(
        str(tmp_path / 'a'), str(tmp_path / 'b'),
        ['gt.tsv', 'gt.boxes.json', 'dataset.json'] + ['images/' + f for f in files], shallow=False)
    assert not mismatch and not errors
    ds = GroundTruthDataset(str(tmp_path / 'a' / 'gt.tsv'), 'svhn')
    mem = SyntheticDataset('svhn-grid', 3, seed=4)
    for i in range(3):
        numpy.testing.assert_array_equal(ds[i][0], mem[i][0])
        numpy.testing.assert_array_equal(ds[i][1], mem[i][1])
        numpy.testing.assert_allclose(ds.true_boxes(i), mem.true_boxes(i), atol=1e-3)


def test_generate_fsns_like_readable_with_views(tmp_path):
    gen = helpers.load_script('datasets/synthetic/generate.py')
    gen.main(['--kind', 'fsns-like', '--count', '2', '--out', str(tmp_path / 'f'),
              '--format', 'readable', '--size', '75x300', '--no-progress'])
    ds = GroundTruthDataset(str(tmp_path / 'f' / 'gt.txt'), 'fsns')
    mem = SyntheticDataset('fsns-like', 2, image_size=(75, 300))
    assert ds.gt.variant == 'readable' and ds.num_views == 4 and ds.image_size == (75, 300)
    assert ds.words(1) == mem.words(1)
    numpy.testing.assert_allclose(ds.true_boxes(1), mem.true_boxes(1), atol=1e-3)


@pytest.mark.parametrize('script', ['datasets/synthetic/generate.py', 'datasets/svhn/prepare.py',
                                    'datasets/fsns/prepare.py'])
def test_scripts_help_explains_every_option(script):
    out = subprocess.run([sys.executable, os.path.join(helpers.ROOT, script), '--help'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    parser = helpers.load_script(script).build_parser()
    texts = [out.stdout]
    for action in parser._actions:
        if hasattr(action, 'choices') and isinstance(action.choices, dict):   # subcommands
            for sub in action.choices.values():
                texts.append(sub.format_help())
                for a in sub._actions:
                    assert a.help, (script, a.dest)
        else:
            assert action.help, (script, action.dest)
    assert len(''.join(texts)) > 500


def test_progress_bar_draws_count_and_share_only_when_enabled():
    buf = io.StringIO()
    with Progress(total=10, desc='conv', enabled=True, stream=buf, min_interval=0,
                  unit='img') as bar:
        bar.update(4)
        assert 'conv:  40%' in buf.getvalue() and '4/10' in buf.getvalue()
    assert buf.getvalue().endswith('\n') and '10/10' not in buf.getvalue()
    quiet = io.StringIO()
    assert list(progress(range(3), stream=quiet)) == [0, 1, 2]   # StringIO is not a TTY
    assert quiet.getvalue() == ''
    unknown = io.StringIO()
    assert list(progress(iter('ab'), desc='x', enabled=True, stream=unknown,
                         min_interval=0)) == ['a', 'b']
    assert 'x: 2' in unknown.getvalue() and '%' not in unknown.getvalue()

"""Edit distance, the BK-tree against a brute-force scan, and the lexicon decoder on
columns whose probabilities are set by hand (svhn char map: class 1..9 = '1'..'9',
class 10 = '0', class 0 the blank)."""
import math

import numpy
import pytest

from chainer_see.data.char_map import CharMap
from chainer_see.evaluation.lexicon import BKTree, edit_distance, lexicon_decode, load_lexicon


@pytest.mark.parametrize('a, b, d', [
    ('kitten', 'sitting', 3), ('flaw', 'lawn', 2), ('', 'abc', 3), ('abc', '', 3),
    ('', '', 0), ('abc', 'abc', 0), ('abc', 'acb', 2), ('123', '1234', 1),
    ('intention', 'execution', 5),
])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


def _brute_force(words, query, delta):
    return sorted((edit_distance(query, w), w) for w in set(words)
                  if edit_distance(query, w) <= delta)


def _random_words(rng, n, alphabet='abcd', max_len=6):
    return [''.join(rng.choice(list(alphabet), size=rng.randint(0, max_len + 1)))
            for _ in range(n)]


@pytest.mark.parametrize('delta', [0, 1, 2, 3])
def test_bk_tree_search_equals_a_brute_force_scan(delta):
    rng = numpy.random.RandomState(20)
    words = _random_words(rng, 400)
    tree = BKTree(words)
    assert len(tree) == len(set(words))
    queries = _random_words(rng, 60) + words[:20]
    hits = 0
    for q in queries:
        expected = _brute_force(words, q, delta)
        assert tree.search(q, delta) == expected
        hits += len(expected)
    assert hits > 0


def test_bk_tree_delta_at_its_limit():
    tree = BKTree(['book', 'books', 'boo', 'cake', 'bookkeeper'])
    assert tree.search('book', 0) == [(0, 'book')]
    assert tree.search('book', 1) == [(0, 'book'), (1, 'boo'), (1, 'books')]
    # 'cake' is at distance 4 from 'book': found with delta 4, not with 3.
    assert edit_distance('book', 'cake') == 4
    assert (4, 'cake') in tree.search('book', 4)
    assert (4, 'cake') not in tree.search('book', 3)
    assert tree.search('boak', 2) == [(1, 'book'), (2, 'boo'), (2, 'books')]


def test_bk_tree_empty_duplicates_and_add():
    empty = BKTree()
    assert empty.search('anything', 3) == []
    assert len(empty) == 0
    tree = BKTree(['abc', 'abc', 'abd'])
    assert len(tree) == 2
    tree.add('abc')
    tree.add('xyz')
    assert len(tree) == 3
    assert tree.search('abc', 1) == [(0, 'abc'), (1, 'abd')]
    assert tree.search('xyw', 1) == [(1, 'xyz')]
    with pytest.raises(ValueError):
        tree.search('abc', -1)


SVHN = CharMap.load('svhn')


def _columns(rows):
    """``rows``: per column a dict {character: probability}; the rest of the mass is
    spread over the other classes.  Returns (W, K) log-probabilities."""
    k = len(SVHN)
    out = numpy.zeros((len(rows), k))
    for t, row in enumerate(rows):
        ids = {(0 if c == '.' else SVHN.encode(c)[0]): p for c, p in row.items()}
        rest = (1.0 - sum(ids.values())) / (k - len(ids))
        out[t] = rest
        for i, p in ids.items():
            out[t, i] = p
    assert numpy.allclose(out.sum(axis=1), 1.0)
    return numpy.log(out)


# Greedy string '123'; '124' is one edit away, '753' two, but
# p('124') = 0.40 * 0.40 * 0.10 = 0.016 < p('753') = 0.38 * 0.38 * 0.50 = 0.0722
# (three columns: a three-character word without a repeat has a single path).
COLUMNS = _columns([{'1': 0.40, '7': 0.38},
                    {'2': 0.40, '5': 0.38},
                    {'3': 0.50, '4': 0.10}])


def test_columns_read_123_greedily():
    assert SVHN.decode([int(i) for i in COLUMNS.argmax(axis=1)]) == '123'


def test_the_more_probable_farther_word_wins():
    tree = BKTree(['124', '753', '99999'])
    assert edit_distance('123', '124') == 1 and edit_distance('123', '753') == 2
    word, log_prob = lexicon_decode(COLUMNS, SVHN, tree, max_distance=3)
    assert word == '753'
    assert log_prob == pytest.approx(math.log(0.38 * 0.38 * 0.50), abs=1e-12)
    # With delta 1 '753' is out of reach and '124' is the only candidate.
    word, log_prob = lexicon_decode(COLUMNS, SVHN, tree, max_distance=1)
    assert word == '124'
    assert log_prob == pytest.approx(math.log(0.40 * 0.40 * 0.10), abs=1e-12)


def test_the_greedy_string_in_the_lexicon_can_lose_to_a_more_probable_word():
    # '1', then two columns where the blank (0.40) beats '2' (0.35): the best path reads
    # '1', which is in the lexicon, yet '12' gathers more paths (1 2 2, 1 . 2, 1 2 .).
    cols = _columns([{'1': 0.9}, {'.': 0.40, '2': 0.35}, {'.': 0.40, '2': 0.35}])
    assert SVHN.decode(greedy_ids(cols)) == '1'
    p1 = [0.9, 0.25 / 9, 0.25 / 9]     # '1' per column (the rest spread over 9 classes)
    pb = [0.1 / 10, 0.40, 0.40]        # blank
    p2 = [0.1 / 10, 0.35, 0.35]        # '2'
    p_1 = (p1[0] * pb[1] * pb[2] + p1[0] * p1[1] * pb[2] + p1[0] * p1[1] * p1[2]
           + pb[0] * p1[1] * pb[2] + pb[0] * p1[1] * p1[2] + pb[0] * pb[1] * p1[2])
    p_12 = (p1[0] * p2[1] * p2[2] + p1[0] * p1[1] * p2[2] + pb[0] * p1[1] * p2[2]
            + p1[0] * pb[1] * p2[2] + p1[0] * p2[1] * pb[2])
    assert p_12 > 2 * p_1
    word, log_prob = lexicon_decode(cols, SVHN, BKTree(['1', '12']), max_distance=1)
    assert word == '12'
    assert log_prob == pytest.approx(math.log(p_12), abs=1e-12)
    # Without '12' in the lexicon the greedy '1' is kept, with its own probability.
    word, log_prob = lexicon_decode(cols, SVHN, BKTree(['1', '77']), max_distance=1)
    assert word == '1'
    assert log_prob == pytest.approx(math.log(p_1), abs=1e-12)


def greedy_ids(cols):
    ids, prev = [], None
    for c in cols.argmax(axis=1).tolist():
        if c != prev and c != 0:
            ids.append(c)
        prev = c
    return ids


def test_fallback_to_the_greedy_string_without_candidates():
    p_greedy = math.log(0.40 * 0.40 * 0.50)
    for tree in (BKTree(), BKTree(['99999', '7777'])):
        word, log_prob = lexicon_decode(COLUMNS, SVHN, tree, max_distance=3)
        assert word == '123'
        assert log_prob == pytest.approx(p_greedy, abs=1e-12)


def test_unencodable_and_too_long_candidates_are_skipped():
    # 'l23' has a letter the svhn map cannot encode; '1233' needs 5 columns (a repeat),
    # the input has 3: both would otherwise be candidates (distance 1).
    tree = BKTree(['l23', '1233'])
    assert tree.search('123', 1) == [(1, '1233'), (1, 'l23')]
    word, log_prob = lexicon_decode(COLUMNS, SVHN, tree)
    assert word == '123'
    assert log_prob == pytest.approx(math.log(0.40 * 0.40 * 0.50), abs=1e-12)


def test_load_lexicon(tmp_path):
    path = tmp_path / 'words.txt'
    path.write_bytes('caf\u00e9\n\n  rue  \r\n\nabc\n123\nabc\n'.encode('utf-8'))
    assert load_lexicon(str(path)) == ['caf\u00e9', 'rue', 'abc', '123', 'abc']
    assert len(BKTree(load_lexicon(str(path)))) == 4
    missing = tmp_path / 'nope.txt'
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        load_lexicon(str(missing))
